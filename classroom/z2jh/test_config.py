#!/usr/bin/env python3
"""Offline check of classroom/z2jh/config.yaml against the Zero to JupyterHub chart (4.x).

    python3 classroom/z2jh/test_config.py [--chart-dir DIR] [--config FILE]

Needs PyYAML and jsonschema (the kit's venv has both, through Jupyter). The chart's values.yaml
and values.schema.yaml come from --chart-dir, else $Z2JH_CHART_DIR, else ../shared/z2jh beside
the checkout.

What it does, as `helm install` would before rendering anything:
- merges config.yaml over the chart's values.yaml the way helm coalesces values: maps are merged
  key by key (recursively), the user's value wins, lists and scalars are replaced whole, and a
  null in the user's file deletes the key;
- validates the merged values with the chart's JSON schema (the draft its $schema names).
Then it checks what the schema cannot (it does not look inside profileList, extraEnv or
hub.extraConfig, nor at what a value means): the start script, the lesson's URL, uid/fsGid, the
culler, the GPU profile, threads = CPU limit, memory units, the authenticator, the teacher's
secret. It checks the config again with its optional "#| " lines switched on, and finally shows
that the checks can fail: broken copies (a typo'd key, a wrong type, a bad profile override...)
must each be rejected with a message naming the bad key.

One line per check; the last line is "N passed, M failed"; exit status 1 when any failed.
"""

import argparse
import copy
import json
import os
import pathlib
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError as exc:  # pragma: no cover - depends on the interpreter
    sys.exit(f"{exc}: run this with a Python that has PyYAML and jsonschema, e.g. "
             "~/.local/share/notebook-kit/venv/bin/python")

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # the checkout
DEFAULT_CHART_DIR = ROOT.parent / "shared" / "z2jh"

START_SCRIPT = "/opt/notebook-kit/src/classroom/container/start.sh"
IMAGE_SRC = "/opt/notebook-kit/src/"  # the checkout's copy inside the image
LESSON_URL_PREFIX = "/lab/tree/rust-lesson/notebooks/"
UID, FS_GID = 1000, 100
CULL_TIMEOUT = 3600
PEAK_BYTES = 2.95e9  # a student's measured peak (README, "Measured for a class")
OPTIONAL_LINE = re.compile(r"^(\s*)#\| ?(.*)$")

# The keys KubeSpawner reads from a profile, and the KubeSpawner traits a profile may override
# here. The schema has no say in either (profileList is a plain "array"), so a typo such as
# extra_resource_limit would pass it and be ignored at spawn: the profile would run without its
# GPU. Add a trait here when the config needs another one.
PROFILE_KEYS = {"display_name", "slug", "description", "default", "kubespawner_override",
                "profile_options"}
KUBESPAWNER_TRAITS = {
    "image", "image_pull_policy", "image_pull_secrets", "cmd", "args", "default_url",
    "working_dir", "environment", "cpu_limit", "cpu_guarantee", "mem_limit", "mem_guarantee",
    "extra_resource_limits", "extra_resource_guarantees", "node_selector", "tolerations",
    "node_affinity_required", "node_affinity_preferred", "pod_affinity_required",
    "pod_affinity_preferred", "pod_anti_affinity_required", "pod_anti_affinity_preferred",
    "extra_labels", "extra_annotations", "extra_pod_config", "extra_container_config",
    "volumes", "volume_mounts", "init_containers", "extra_containers", "lifecycle_hooks",
    "start_timeout", "uid", "gid", "fs_gid", "supplemental_gids", "service_account",
    "priority_class_name", "scheduler_name", "storage_capacity", "storage_class",
    "allow_privilege_escalation", "container_security_context", "pod_security_context",
}
# JupyterHub's ByteSpecification (mem_limit, mem_guarantee): an int of bytes or a number with
# K, M, G or T (powers of 1024). Kubernetes' "4Gi" is not one; the schema takes any string.
BYTE_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
BYTES_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT])\s*$")


# --------------------------------------------------------------------------------------------
# Merging and validating, as helm does


def helm_merge(defaults, user):
    """The user's values over the chart's defaults, as helm coalesces them (new dict)."""
    out = copy.deepcopy(defaults) if isinstance(defaults, dict) else {}
    for key, val in user.items():
        if val is None:
            out.pop(key, None)  # helm: a null deletes the key, default and all
        elif isinstance(val, dict):
            out[key] = helm_merge(out.get(key), val)
        else:
            out[key] = copy.deepcopy(val)  # lists and scalars replace the default whole
    return out


def validator_for(schema):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def describe(error):
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"{path}: {error.message}"


def schema_problems(validator, values):
    errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    return [describe(e) for e in errors]


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def with_optional_lines(text):
    """config.yaml's text with every "#| " line switched on."""
    return "\n".join(OPTIONAL_LINE.sub(r"\1\2", line) for line in text.splitlines()) + "\n"


# --------------------------------------------------------------------------------------------
# What the schema cannot check. Each check takes the merged values and returns a list of
# problems, each naming the key it is about (empty: fine).


def dig(values, dotted, default=None):
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def env_dict(env):
    """extraEnv as a dict (the chart takes a dict or a list of EnvVar objects)."""
    if isinstance(env, list):
        return {e.get("name"): e for e in env if isinstance(e, dict)}
    return dict(env or {})


def parse_bytes(value):
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return int(value)
    m = BYTES_RE.match(str(value))
    if not m:
        raise ValueError(value)
    return int(float(m.group(1)) * BYTE_UNITS[m.group(2)])


def profiles(values):
    return dig(values, "singleuser.profileList") or []


def check_cmd(v):
    cmd = dig(v, "singleuser.cmd")
    if cmd not in (START_SCRIPT, [START_SCRIPT]):
        return [f"singleuser.cmd is {cmd!r}, not the image's start script {START_SCRIPT} "
                "(without it no notebooks are handed out and /data is not used)"]
    return []


def check_dockerfile(v):
    """The config and the image agree: the Dockerfile's CMD is singleuser.cmd, its user's uid/gid
    are singleuser.uid/fsGid, and the start script is in the checkout the image copies."""
    dockerfile = ROOT / "Dockerfile"
    if not dockerfile.is_file():
        return [f"{dockerfile} is missing: cannot compare singleuser.cmd/uid/fsGid with the image"]
    text = dockerfile.read_text(encoding="utf-8")
    problems = []
    cmds = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.M)
    image_cmd = json.loads(cmds[-1]) if cmds else None
    cmd = dig(v, "singleuser.cmd")
    if image_cmd is None:
        problems.append("Dockerfile has no CMD [...] line to compare singleuser.cmd with")
    elif (cmd if isinstance(cmd, list) else [cmd]) != image_cmd:
        problems.append(f"singleuser.cmd is {cmd!r}, the image's CMD is {image_cmd!r}")
    for arg, key in (("NB_UID", "singleuser.uid"), ("NB_GID", "singleuser.fsGid")):
        m = re.search(rf"^ARG\s+{arg}=(\d+)\s*$", text, re.M)
        if m and int(m.group(1)) != dig(v, key):
            problems.append(f"{key} is {dig(v, key)!r}, the Dockerfile's {arg} is {m.group(1)}")
    if isinstance(cmd, str) and cmd.startswith(IMAGE_SRC) and not (ROOT / cmd[len(IMAGE_SRC):]).is_file():
        problems.append(f"singleuser.cmd {cmd} is not in the checkout ({cmd[len(IMAGE_SRC):]})")
    return problems


def check_image(v):
    problems = []
    name, tag = dig(v, "singleuser.image.name"), str(dig(v, "singleuser.image.tag", ""))
    if not name or "k8s-singleuser-sample" in name:
        problems.append(f"singleuser.image.name is {name!r}, the chart's sample image, not the kit's")
    if tag in ("", "latest", "set-by-chartpress"):
        problems.append(f"singleuser.image.tag is {tag!r}: give every build a fixed tag of its own")
    return problems


def check_ids(v):
    problems = []
    if dig(v, "singleuser.uid") != UID:
        problems.append(f"singleuser.uid is {dig(v, 'singleuser.uid')!r}, the image's jovyan is {UID}")
    if dig(v, "singleuser.fsGid") != FS_GID:
        problems.append(f"singleuser.fsGid is {dig(v, 'singleuser.fsGid')!r}, jovyan's group is {FS_GID}")
    return problems


def check_default_url(v):
    url = dig(v, "singleuser.defaultUrl") or ""
    if not url.startswith(LESSON_URL_PREFIX):
        return [f"singleuser.defaultUrl is {url!r}, not under {LESSON_URL_PREFIX}"]
    notebook = url[len(LESSON_URL_PREFIX):]
    if not (ROOT / "notebooks" / notebook).is_file():
        return [f"singleuser.defaultUrl names {notebook!r}, which is not in the checkout's notebooks/"]
    return []


def check_cull(v):
    problems = []
    if dig(v, "cull.enabled") is not True:
        problems.append(f"cull.enabled is {dig(v, 'cull.enabled')!r}: idle servers would keep their memory")
    if dig(v, "cull.timeout") != CULL_TIMEOUT:
        problems.append(f"cull.timeout is {dig(v, 'cull.timeout')!r}, the kit's idle timeout is {CULL_TIMEOUT}")
    every = dig(v, "cull.every")
    if not isinstance(every, int) or isinstance(every, bool) or every <= 0:
        problems.append(f"cull.every is {every!r}, not a number of seconds")
    return problems


def check_threads(v):
    """OMP/MKL threads = the CPU limit, in the defaults and in every profile that sets either."""
    problems = []
    env = env_dict(dig(v, "singleuser.extraEnv"))
    base_limit = dig(v, "singleuser.cpu.limit")
    places = [("singleuser", base_limit, env)]
    for i, p in enumerate(profiles(v)):
        o = p.get("kubespawner_override") or {}
        if "cpu_limit" in o or "environment" in o:
            places.append((f"singleuser.profileList[{i}].kubespawner_override",
                           o.get("cpu_limit", base_limit), {**env, **(o.get("environment") or {})}))
    for where, limit, environment in places:
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit < 1:
            problems.append(f"{where}: the CPU limit is {limit!r}, not a number of cores >= 1")
            continue
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            if str(environment.get(var)) != str(int(limit)):
                problems.append(f"{where}: {var} is {environment.get(var)!r}, "
                                f"not the CPU limit {int(limit)}")
    return problems


def check_resources(v):
    problems = []
    places = [("singleuser", {"cpu_guarantee": dig(v, "singleuser.cpu.guarantee"),
                              "cpu_limit": dig(v, "singleuser.cpu.limit"),
                              "mem_guarantee": dig(v, "singleuser.memory.guarantee"),
                              "mem_limit": dig(v, "singleuser.memory.limit")})]
    for i, p in enumerate(profiles(v)):
        o = p.get("kubespawner_override") or {}
        merged = dict(places[0][1])
        merged.update({k: o[k] for k in merged if k in o})
        places.append((f"singleuser.profileList[{i}].kubespawner_override", merged))
    names = {"mem_guarantee": "memory.guarantee", "mem_limit": "memory.limit"}
    for where, r in places:
        mem = {}
        for key in ("mem_guarantee", "mem_limit"):
            shown = names[key] if where == "singleuser" else key
            if r[key] is None:
                problems.append(f"{where}.{shown} is not set")
                continue
            try:
                mem[key] = parse_bytes(r[key])
            except ValueError:
                problems.append(f"{where}.{shown} is {r[key]!r}: JupyterHub takes bytes or a number "
                                "with K, M, G or T (powers of 1024), not Kubernetes' Ki/Mi/Gi")
        if len(mem) == 2:
            if mem["mem_limit"] < PEAK_BYTES:
                problems.append(f"{where}: memory limit {r['mem_limit']} is below a student's "
                                f"measured peak of {PEAK_BYTES / 1e9:.2f} GB")
            if mem["mem_guarantee"] > mem["mem_limit"]:
                problems.append(f"{where}: memory guarantee {r['mem_guarantee']} is above the limit")
        g, lim = r["cpu_guarantee"], r["cpu_limit"]
        if isinstance(g, (int, float)) and isinstance(lim, (int, float)) and g > lim:
            problems.append(f"{where}: CPU guarantee {g} is above the limit {lim}")
    return problems


def check_kernel_cache(v):
    """XDG_CACHE_HOME on an emptyDir volume, outside the student's home volume."""
    env = env_dict(dig(v, "singleuser.extraEnv"))
    path = env.get("XDG_CACHE_HOME")
    if not isinstance(path, str):
        return ["singleuser.extraEnv.XDG_CACHE_HOME is not set: kernel folders would go to the "
                "student's volume"]
    home = dig(v, "singleuser.storage.homeMountPath") or "/home/jovyan"
    if path == home or path.startswith(home.rstrip("/") + "/"):
        return [f"singleuser.extraEnv.XDG_CACHE_HOME ({path}) is on the student's volume ({home})"]
    volumes = dig(v, "singleuser.storage.extraVolumes") or []
    mounts = dig(v, "singleuser.storage.extraVolumeMounts") or []
    if isinstance(volumes, dict):
        volumes = list(volumes.values())
    if isinstance(mounts, dict):
        mounts = list(mounts.values())
    empty_dirs = {vol.get("name") for vol in volumes if isinstance(vol, dict) and "emptyDir" in vol}
    for m in mounts:
        mp = (m or {}).get("mountPath", "")
        if m.get("name") in empty_dirs and (path == mp or path.startswith(mp.rstrip("/") + "/")):
            return []
    return [f"singleuser.extraEnv.XDG_CACHE_HOME ({path}) is not on an emptyDir volume from "
            "singleuser.storage.extraVolumes/extraVolumeMounts"]


def check_profiles(v):
    problems = []
    ps = profiles(v)
    if not isinstance(ps, list) or not ps:
        return ["singleuser.profileList is empty: no CPU/GPU choice"]
    defaults = [i for i, p in enumerate(ps) if isinstance(p, dict) and p.get("default") is True]
    if len(defaults) != 1:
        problems.append(f"singleuser.profileList: {len(defaults)} profiles have default: true, want 1")
    for i, p in enumerate(ps):
        where = f"singleuser.profileList[{i}]"
        if not isinstance(p, dict) or not p.get("display_name"):
            problems.append(f"{where}: no display_name")
            continue
        for key in sorted(set(p) - PROFILE_KEYS):
            problems.append(f"{where}: unknown key {key!r} (KubeSpawner ignores it)")
        for key in sorted(set(p.get("kubespawner_override") or {}) - KUBESPAWNER_TRAITS):
            problems.append(f"{where}.kubespawner_override: unknown KubeSpawner trait {key!r}")
    return problems


def gpu_count(profile):
    limits = (profile.get("kubespawner_override") or {}).get("extra_resource_limits") or {}
    try:
        return int(str(limits.get("nvidia.com/gpu", "0")))
    except ValueError:
        return -1


def check_gpu_profile(v):
    ps = [p for p in profiles(v) if isinstance(p, dict)]
    problems = []
    gpu = [p for p in ps if gpu_count(p) >= 1]
    if not gpu:
        problems.append("singleuser.profileList: no profile has kubespawner_override."
                        "extra_resource_limits.nvidia.com/gpu >= 1")
    for p in ps:
        if p.get("default") is True and gpu_count(p) != 0:
            problems.append(f"singleuser.profileList: the default profile {p.get('display_name')!r} "
                            "takes a GPU; the class's default should be the CPU profile")
    return problems


def check_authenticator(v):
    problems = []
    cls = dig(v, "hub.config.JupyterHub.authenticator_class")
    if cls not in ("native", "nativeauthenticator.NativeAuthenticator"):
        problems.append(f"hub.config.JupyterHub.authenticator_class is {cls!r}, not NativeAuthenticator")
    admins = dig(v, "hub.config.Authenticator.admin_users") or []
    if not admins:
        problems.append("hub.config.Authenticator.admin_users is empty: no teacher")
    if dig(v, "hub.config.Authenticator.allow_all") is not True:
        problems.append("hub.config.Authenticator.allow_all is not true: on JupyterHub 5 no "
                        "approved student could log in")
    if dig(v, "hub.config.NativeAuthenticator.open_signup") is not False:
        problems.append("hub.config.NativeAuthenticator.open_signup is not false: sign-ups "
                        "would not wait for the teacher")
    return problems


ENV_READ = re.compile(r"""os\.(?:environ\.get|getenv)\(\s*["'](\w+)["']|os\.environ\[\s*["'](\w+)["']""")


def check_extra_config(v):
    """Each hub.extraConfig snippet compiles; the variables it reads are in hub.extraEnv; the
    teacher's account is made there, with its password from a secret."""
    problems = []
    snippets = dig(v, "hub.extraConfig") or {}
    env = env_dict(dig(v, "hub.extraEnv"))
    teacher_made = False
    for key, code in sorted(snippets.items()):
        where = f"hub.extraConfig.{key}"
        try:
            compile(code, where, "exec")
        except SyntaxError as exc:
            problems.append(f"{where}: line {exc.lineno}: {exc.msg}")
            continue
        for m in ENV_READ.finditer(code):
            var = m.group(1) or m.group(2)
            if var.startswith("NOTEBOOK_KIT_") and var not in env:
                problems.append(f"{where} reads ${var}, which hub.extraEnv does not set")
        if "create_user" in code and "authenticator_class" in code:
            teacher_made = True
    if not teacher_made:
        problems.append("hub.extraConfig: no snippet makes the teacher's account (create_user), "
                        "so whoever signs up first under the teacher's name is admin")
    secret_vars = [name for name, spec in env.items()
                   if isinstance(spec, dict) and dig(spec, "valueFrom.secretKeyRef.name")]
    for name, spec in env.items():
        if "PASSWORD" in str(name) and name not in secret_vars:
            problems.append(f"hub.extraEnv.{name} is not from a secret (valueFrom.secretKeyRef)")
    if teacher_made and not secret_vars:
        problems.append("hub.extraEnv: the teacher's password does not come from a secret")
    return problems


KIT_CHECKS = [
    ("singleuser.cmd is the image's start script", check_cmd),
    ("the Dockerfile agrees: CMD, NB_UID/NB_GID, start script in the checkout", check_dockerfile),
    ("singleuser.image is the kit's, with a fixed tag", check_image),
    (f"uid {UID}, fsGid {FS_GID} (the image's jovyan)", check_ids),
    ("defaultUrl opens the lesson, which is in notebooks/", check_default_url),
    (f"cull: enabled, timeout {CULL_TIMEOUT}, every set", check_cull),
    ("OMP/MKL threads = CPU limit (defaults and profiles)", check_threads),
    ("memory in JupyterHub's units, limit above the measured peak; guarantees <= limits", check_resources),
    ("XDG_CACHE_HOME on an emptyDir, off the student's volume", check_kernel_cache),
    ("profileList: one default, known keys and KubeSpawner traits", check_profiles),
    ("a GPU profile requests nvidia.com/gpu; the default does not", check_gpu_profile),
    ("NativeAuthenticator: admin teacher, allow_all, no open sign-up", check_authenticator),
    ("hub.extraConfig compiles, makes the teacher from a secret", check_extra_config),
]


def kit_problems(values):
    problems = []
    for _, fn in KIT_CHECKS:
        try:
            problems.extend(fn(values))
        except Exception as exc:  # a malformed value must not hide the others
            problems.append(f"{fn.__name__} failed: {type(exc).__name__}: {exc}")
    return problems


# --------------------------------------------------------------------------------------------
# Broken copies: each must be rejected, by the schema or by the kit's checks, with a message
# that names the bad key.


def rename(node, old, new):
    node[new] = node.pop(old)


def set_at(cfg, dotted, value):
    node = cfg
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def gpu_override(cfg):
    return next(p for p in cfg["singleuser"]["profileList"] if gpu_count(p) >= 1)["kubespawner_override"]


# (what, how to break the config, who must reject it, the text the message must contain)
BROKEN = [
    ("typo'd key singleuser.imagee", lambda c: rename(c["singleuser"], "image", "imagee"),
     "schema", "'imagee'"),
    ("typo'd key cull.enabeld", lambda c: rename(c["cull"], "enabled", "enabeld"),
     "schema", "'enabeld'"),
    ("typo'd key singleuser.storage.capacty", lambda c: rename(c["singleuser"]["storage"], "capacity", "capacty"),
     "schema", "'capacty'"),
    ("lower-case class hub.config.authenticator", lambda c: rename(c["hub"]["config"], "Authenticator", "authenticator"),
     "schema", "'authenticator'"),
    ("typo'd top-level key singeluser", lambda c: c.__setitem__("singeluser", c.pop("singleuser")),
     "schema", "'singeluser'"),
    ("wrong type: cull.timeout: \"1h\"", lambda c: set_at(c, "cull.timeout", "1h"),
     "schema", "cull.timeout"),
    ("wrong type: singleuser.cpu.limit: \"1\" (a string)", lambda c: set_at(c, "singleuser.cpu.limit", "1"),
     "schema", "singleuser.cpu.limit"),
    ("wrong type: singleuser.uid: \"1000\"", lambda c: set_at(c, "singleuser.uid", "1000"),
     "schema", "singleuser.uid"),
    ("bad value: singleuser.storage.type: dynamc", lambda c: set_at(c, "singleuser.storage.type", "dynamc"),
     "schema", "singleuser.storage.type"),
    # The schema lets these through; the kit's checks must not.
    ("typo in a profile: extra_resource_limit", lambda c: rename(gpu_override(c), "extra_resource_limits", "extra_resource_limit"),
     "kit", "'extra_resource_limit'"),
    ("memory in Kubernetes units: singleuser.memory.limit: 4Gi", lambda c: set_at(c, "singleuser.memory.limit", "4Gi"),
     "kit", "memory.limit"),
    ("singleuser.cmd back to jupyterhub-singleuser", lambda c: set_at(c, "singleuser.cmd", "jupyterhub-singleuser"),
     "kit", "singleuser.cmd"),
    ("cull.enabled: false", lambda c: set_at(c, "cull.enabled", False),
     "kit", "cull.enabled"),
    ("OMP_NUM_THREADS 4 with a 1-core limit", lambda c: set_at(c, "singleuser.extraEnv.OMP_NUM_THREADS", "4"),
     "kit", "OMP_NUM_THREADS"),
    ("singleuser.uid: 0", lambda c: set_at(c, "singleuser.uid", 0),
     "kit", "singleuser.uid"),
    ("the teacher's password as a plain value", lambda c: set_at(c, "hub.extraEnv.NOTEBOOK_KIT_TEACHER_PASSWORD", "hunter22"),
     "kit", "NOTEBOOK_KIT_TEACHER_PASSWORD"),
    ("a syntax error in hub.extraConfig", lambda c: c["hub"]["extraConfig"].__setitem__("20-broken", "c.JupyterHub.x = (\n"),
     "kit", "hub.extraConfig.20-broken"),
    ("null deletes a required default: cull.enabled: null", lambda c: set_at(c, "cull.enabled", None),
     "schema", "'enabled' is a required property"),
]


# --------------------------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def line(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        text = f"{'PASS' if ok else 'FAIL'}  {name}"
        if detail:
            text += "\n        " + detail.replace("\n", "\n        ")
        print(text, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chart-dir", type=pathlib.Path,
                    default=pathlib.Path(os.environ.get("Z2JH_CHART_DIR") or DEFAULT_CHART_DIR),
                    help="folder with the chart's values.yaml and values.schema.yaml "
                         "(default: $Z2JH_CHART_DIR, else ../shared/z2jh beside the checkout)")
    ap.add_argument("--config", type=pathlib.Path, default=HERE / "config.yaml",
                    help="the config to check (default: config.yaml beside this script)")
    args = ap.parse_args()
    r = Report()

    values_path = args.chart_dir / "values.yaml"
    schema_path = args.chart_dir / "values.schema.yaml"
    missing = [str(p) for p in (values_path, schema_path, args.config) if not p.is_file()]
    if missing:
        r.line(False, "inputs", "missing: " + ", ".join(missing) +
               " (--chart-dir or $Z2JH_CHART_DIR names the chart's folder)")
        print(f"{r.passed} passed, {r.failed} failed")
        return 1
    defaults = load_yaml(values_path)
    schema = load_yaml(schema_path)
    config_text = args.config.read_text(encoding="utf-8")
    try:
        config = yaml.safe_load(config_text) or {}
    except yaml.YAMLError as exc:
        r.line(False, f"{args.config.name} is YAML", str(exc))
        print(f"{r.passed} passed, {r.failed} failed")
        return 1
    print(f"chart: {args.chart_dir}\nconfig: {args.config}")

    # The schema itself, and the levels where the typo checks rely on it refusing unknown keys.
    try:
        validator = validator_for(schema)
        r.line(True, f"schema is valid {schema.get('$schema', '(no $schema)')} "
                     f"({type(validator).__name__})")
    except jsonschema.SchemaError as exc:
        r.line(False, "schema is a valid JSON schema", str(exc).splitlines()[0])
        print(f"{r.passed} passed, {r.failed} failed")
        return 1
    strict = {"(top level)": schema, "singleuser": dig(schema, "properties.singleuser"),
              "singleuser.storage": dig(schema, "properties.singleuser.properties.storage"),
              "cull": dig(schema, "properties.cull"),
              "hub.config": dig(schema, "properties.hub.properties.config")}
    loose = [k for k, node in strict.items() if not isinstance(node, dict)
             or node.get("additionalProperties") is not False]
    r.line(not loose, "schema refuses unknown keys (additionalProperties: false) at "
           + ", ".join(strict), f"not at: {', '.join(loose)}" if loose else "")

    # helm's merge, on a small case, then on the real files.
    got = helm_merge({"a": {"b": 1, "c": [1, 2], "d": 3}, "e": {"f": 1}},
                     {"a": {"c": [9], "d": None, "g": {"h": None, "i": 2}}, "e": None})
    want = {"a": {"b": 1, "c": [9], "g": {"i": 2}}}
    r.line(got == want, "merge: maps merged, lists replaced, null deletes",
           "" if got == want else f"got {got}, want {want}")

    problems = schema_problems(validator, defaults)
    r.line(not problems, "chart defaults alone satisfy the schema", "\n".join(problems[:5]))

    merged = helm_merge(defaults, config)
    problems = schema_problems(validator, merged)
    r.line(not problems, f"{args.config.name} merged over the defaults satisfies the schema",
           "\n".join(problems))

    for name, fn in KIT_CHECKS:
        try:
            problems = fn(merged)
        except Exception as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        r.line(not problems, name, "\n".join(problems))

    # The optional "#| " settings, switched on.
    optional_lines = sum(1 for line in config_text.splitlines() if OPTIONAL_LINE.match(line))
    try:
        merged_opt = helm_merge(defaults, yaml.safe_load(with_optional_lines(config_text)) or {})
        problems = schema_problems(validator, merged_opt) + kit_problems(merged_opt)
    except yaml.YAMLError as exc:
        problems = [f"not YAML: {exc}"]
    r.line(not problems and optional_lines > 0,
           f"with its {optional_lines} optional '#| ' lines on, the config still passes",
           "\n".join(problems) if problems else ("" if optional_lines else "no '#| ' lines found"))

    # Broken copies must be rejected, naming the bad key.
    for what, breaker, by, needle in BROKEN:
        broken = copy.deepcopy(config)
        try:
            breaker(broken)
        except Exception as exc:
            r.line(False, f"broken copy: {what}", f"could not make it: {type(exc).__name__}: {exc}")
            continue
        bm = helm_merge(defaults, broken)
        s_problems = schema_problems(validator, bm)
        k_problems = kit_problems(bm)
        found = s_problems if by == "schema" else k_problems
        named = [p for p in found if needle in p]
        who = "the schema" if by == "schema" else ("the kit's checks (the schema lets it through)"
                                                   if not s_problems else "the kit's checks")
        ok = bool(named)
        detail = named[0] if ok else ("not rejected" if not found else
                                      f"rejected, but no message names {needle}: {found[0]}")
        r.line(ok, f"broken copy rejected by {who}: {what}", detail)

    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
