"""JupyterHub for a class whose students each get the kit's image as a container (DockerSpawner).

    jupyterhub -f classroom/container/jupyterhub_config.py       (as root, from a folder of its own)

Each student's server is a container of the kit's image (the Dockerfile at the checkout's root;
classroom/container/build.sh builds it): the Rust kernel, the lesson's notebooks copied into
~/rust-lesson on every start (the student's own copies are never overwritten), CPU and memory
limits per student, a named volume per student for their home, the data sets read-only at /data.
Tested against JupyterHub 6.1.1, DockerSpawner 14.0.0, docker-py 7.1.0 and podman 4.3's Docker
API (`podman system service`) by classroom/container/test_class.py, which also shows how to add
students and hand them tokens without passwords.

What the hub needs on its machine: Python with jupyterhub==6.1.1 dockerspawner==14.0.0 docker,
configurable-http-proxy (npm) on PATH or in NOTEBOOK_KIT_CHP, and a Docker Engine API: Docker's
daemon, or podman's (`podman system service --time=0 unix:///run/podman/podman.sock` and
DOCKER_HOST=unix:///run/podman/podman.sock; docker-py reads DOCKER_HOST itself). The image must
hold jupyterhub-singleuser of the hub's major version (the Dockerfile's JUPYTERHUB_VERSION).
The hub's database (jupyterhub.sqlite) and cookie secret are written to the folder it runs in.

Settings a teacher (or a test) changes come from the environment, with defaults for one class
machine:

    NOTEBOOK_KIT_IMAGE          the image                       localhost/notebook-kit:latest
    NOTEBOOK_KIT_PULL_POLICY    ifnotpresent | always | never   ifnotpresent (a registry image)
    NOTEBOOK_KIT_CPU_LIMIT      CPUs per student (float)        2
    NOTEBOOK_KIT_MEM_LIMIT      memory per student (K/M/G/T)    4G
    NOTEBOOK_KIT_DATA           host folder or named volume, read-only at /data   (none)
    NOTEBOOK_KIT_NAME           prefix of containers and volumes: container
                                NAME-server-USER, home volume NAME-USER         notebook-kit
    NOTEBOOK_KIT_HUB_IP         the address students open (the proxy's)          127.0.0.1
    NOTEBOOK_KIT_HUB_PORT       its port                                         8000
    NOTEBOOK_KIT_HUB_API_PORT   the hub's own port, on 127.0.0.1                 8081
    NOTEBOOK_KIT_PROXY_API_PORT the proxy's REST API, on 127.0.0.1               8001
    NOTEBOOK_KIT_CHP            configurable-http-proxy's path                   (from PATH)
    NOTEBOOK_KIT_ADMINS         the hub's admins, comma-separated                (none)
    NOTEBOOK_KIT_SERVICE_TOKEN  a token for the "class-admin" service, which may create users,
                                hand them tokens and start/stop their servers (scripts, tests);
                                at least 32 random characters (`openssl rand -hex 32`)   (off)
    NOTEBOOK_KIT_AUTHENTICATOR  how students log in: "pam" (JupyterHub's default), "null" (nobody
                                logs in: users and tokens only through the API), or any other
                                authenticator JupyterHub knows by name                  pam

Who logs in: with "pam", accounts on the hub's machine (they are not used inside the containers,
where everyone is jovyan, uid 1000), for users an admin added at /hub/admin or through the API
(allow_existing_users; PAM refuses to add a user who has no account there). A teacher who wants
sign-ups swaps in another authenticator (NativeAuthenticator as in classroom/jupyterhub_config.py,
OAuth, LDAP). Not "shared-password": with it every student can log in as every other.

Networking: the containers share the host's network (DockerSpawner's network_name = "host").
Each student's server listens on 127.0.0.1 on a port of its own, the hub's API on 127.0.0.1 is
reachable from the containers, and only the proxy is seen by students. Trade-off: a student's
code can reach whatever listens on the host's 127.0.0.1 (other students' servers and kernels
too; those ask for tokens and signed messages, but a machine with other local services should
use a Docker network of its own instead: network_name = "NAME", hub_ip = "0.0.0.0" or the
network's gateway, hub_connect_ip = that address, and DockerSpawner's own get_ip_and_port).
"""

import os
import shutil
import socket

from dockerspawner import DockerSpawner
from jupyterhub.traitlets import ByteSpecification

c = get_config()  # noqa: F821 (provided by JupyterHub)


def env(name, default):
    value = os.environ.get(name, "").strip()
    return value if value else default


IMAGE = env("NOTEBOOK_KIT_IMAGE", "localhost/notebook-kit:latest")
NAME = env("NOTEBOOK_KIT_NAME", "notebook-kit")
LESSON = "rust-lesson/notebooks/01-gpu-benchmarking-cifar10.ipynb"
HOME = "/home/jovyan"  # the image's user (uid 1000) and HOME: the docker-stacks' convention
LOOPBACK = "127.0.0.1"


def limit(name, default):
    """A limit from the environment; "off" (or 0) for none."""
    value = env(name, default)
    return None if value.lower() in ("off", "none", "0") else value


# --- the hub and its proxy -------------------------------------------------------------------
c.JupyterHub.ip = env("NOTEBOOK_KIT_HUB_IP", LOOPBACK)
c.JupyterHub.port = int(env("NOTEBOOK_KIT_HUB_PORT", "8000"))
# The containers share the host's network, so the hub's API on loopback reaches them (and only
# them and the host): the URL they are given (JUPYTERHUB_API_URL) is http://127.0.0.1:PORT/hub/api.
c.JupyterHub.hub_ip = LOOPBACK
c.JupyterHub.hub_port = int(env("NOTEBOOK_KIT_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://{LOOPBACK}:{int(env('NOTEBOOK_KIT_PROXY_API_PORT', '8001'))}"
c.ConfigurableHTTPProxy.command = [env("NOTEBOOK_KIT_CHP", shutil.which("configurable-http-proxy")
                                       or "configurable-http-proxy")]
# When the hub stops, it stops the servers (and, with remove = True below, their containers);
# the students' volumes stay.
c.JupyterHub.cleanup_servers = True

# --- who may log in, and the class-admin service ----------------------------------------------
c.JupyterHub.authenticator_class = env("NOTEBOOK_KIT_AUTHENTICATOR", "pam")
c.Authenticator.admin_users = {n.strip() for n in env("NOTEBOOK_KIT_ADMINS", "").split(",") if n.strip()}
# JupyterHub 5+ lets nobody in unless told whom: the users an admin added (admin page, API).
c.Authenticator.allow_existing_users = True
_service_token = env("NOTEBOOK_KIT_SERVICE_TOKEN", "")
if _service_token:
    if len(_service_token) < 32:
        raise SystemExit("NOTEBOOK_KIT_SERVICE_TOKEN must be at least 32 characters (openssl rand -hex 32)")
    # A service without a command: a token a script holds. Its role is what an admin script
    # needs and no more: create users (admin:users), give them API tokens (tokens: a student's
    # own token for their server, no password), start and stop servers (admin:servers) and look
    # at them (access:servers, e.g. a teacher's check of a student's server).
    c.JupyterHub.services = [{"name": "class-admin", "api_token": _service_token}]
    c.JupyterHub.load_roles = [{
        "name": "class-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
        "services": ["class-admin"],
    }]


# --- the students' containers -------------------------------------------------------------------
class ClassDockerSpawner(DockerSpawner):
    """DockerSpawner for containers on the host's network.

    DockerSpawner 14 gives every container port 8888 (its default, right for one container
    per address) and finds the server's address by asking Docker which host port it published
    (or, with use_internal_ip, the container's address on network_name). On the host's network
    there is neither (podman's API, measured: `port` answers None, NetworkSettings.Networks is
    {}, so DockerSpawner's own lookup fails with "Unknown docker network 'host'"), and all
    containers share one address. So each server gets a free port of its own on 127.0.0.1
    here, before the container is created. JupyterHub passes it in JUPYTERHUB_SERVICE_URL
    (http://127.0.0.1:PORT/user/NAME/), from which jupyterhub-singleuser takes its ip and port
    (JupyterHub >= 2 puts neither on the command line), and the hub is told that same address
    (DockerSpawner's docstring of get_ip_and_port asks for this override with host networking).
    """

    async def start(self):
        # A new port for every start: with remove = True every start is a new container, which
        # reads the port from its environment. (The small race between picking it here and the
        # server binding it is the one LocalProcessSpawner has too.)
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            self.port = s.getsockname()[1]
        return await super().start()

    async def get_ip_and_port(self):
        return LOOPBACK, self.port


c.JupyterHub.spawner_class = ClassDockerSpawner
c.DockerSpawner.image = IMAGE
c.DockerSpawner.pull_policy = env("NOTEBOOK_KIT_PULL_POLICY", "ifnotpresent")
# The image's own command, spelled out: start.sh copies the lesson's notebooks into ~/rust-lesson,
# sets NOTEBOOK_KIT_DATA=/data when /data is non-empty, and (JUPYTERHUB_API_TOKEN being set)
# runs jupyterhub-singleuser with the hub's arguments. The image's ENTRYPOINT (tini -g) stays
# in front, so `docker stop` reaches the server and its kernels. Spelled out rather than read
# from the image (cmd = None) so that a derived image with another CMD still starts the hub's
# server.
c.DockerSpawner.cmd = ["/opt/notebook-kit/src/classroom/container/start.sh"]
c.DockerSpawner.network_name = "host"
# The server must listen on loopback only: DockerSpawner's default ip is 0.0.0.0, which on the
# host's network would put every student's server on the machine's public interfaces, past the
# proxy.
c.DockerSpawner.ip = LOOPBACK
# No port bindings: DockerSpawner asks for them (port_bindings={port: (host_ip,)}) unless
# use_internal_ip is on, and docker-py 7.1 then refuses to create the container: '"host"
# network_mode is incompatible with port_bindings'. use_internal_ip's other effect, how the
# address is looked up, is replaced by get_ip_and_port above.
c.DockerSpawner.use_internal_ip = True
# A server's container goes when the server stops (and a leftover one is replaced at the next
# start); what a student keeps is in their volume.
c.DockerSpawner.remove = True
# Containers are named NAME-server-USER (DockerSpawner's name_template "{prefix}-{username}",
# the user name escaped to [a-z0-9-]); a unique NAME keeps two hubs on one machine apart.
c.DockerSpawner.prefix = f"{NAME}-server"
# Each student's home is a named volume of their own, made on first start (Docker and podman
# copy the image's /home/jovyan into a new, empty volume, owned by jovyan) and kept when the
# container goes: a student's notebooks outlive their servers, and no student's volume is
# mounted in another's container.
c.DockerSpawner.volumes = {f"{NAME}-{{username}}": HOME}
c.DockerSpawner.notebook_dir = HOME
# The data sets (CIFAR-10, Fashion-MNIST as in data/PROVENANCE.md), read-only: start.sh then
# points the loaders at /data and nothing is downloaded per student.
DATA = env("NOTEBOOK_KIT_DATA", "")
if DATA:
    c.DockerSpawner.read_only_volumes = {DATA: "/data"}

# Limits per student, enforced by the container's cgroups (cpu_limit: CFS quota of
# cpu_limit x 100 ms per 100 ms period; mem_limit: the memory cgroup's limit, past which the
# kernel's process is killed rather than the machine slowing for everyone).
CPU_LIMIT = limit("NOTEBOOK_KIT_CPU_LIMIT", "2")
MEM_LIMIT = limit("NOTEBOOK_KIT_MEM_LIMIT", "4G")
if CPU_LIMIT is not None:
    c.DockerSpawner.cpu_limit = float(CPU_LIMIT)
if MEM_LIMIT is not None:
    # In bytes, as JupyterHub reads it (K, M, G, T are powers of 1024; docker-py's own parser
    # knows no T), so that both settings below get the same number.
    MEM_BYTES = int(MEM_LIMIT) if MEM_LIMIT.isdigit() else ByteSpecification().validate(None, MEM_LIMIT)
    c.DockerSpawner.mem_limit = MEM_BYTES
    # Memory plus swap at the same limit: no swap beyond it (Docker's default, memswap unset,
    # lets a container use as much swap again as its memory limit).
    c.DockerSpawner.extra_host_config = {"memswap_limit": MEM_BYTES}

c.DockerSpawner.environment = {
    # libtorch sizes its OpenMP pool from the cores it sees, which are the host's, not the
    # quota's: more threads than the quota allows make training far slower (2 threads on 1 CPU
    # of quota stall each other). One thread per CPU of the limit.
    **({"OMP_NUM_THREADS": str(max(1, int(float(CPU_LIMIT)))),
        "MKL_NUM_THREADS": str(max(1, int(float(CPU_LIMIT))))} if CPU_LIMIT is not None else {}),
}

# Students land on the lesson.
c.Spawner.default_url = f"/lab/tree/{LESSON}"
# First start of a container: the volume is filled from the image and the server starts
# (seconds here, but a busy machine starting a class at once is slower).
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
