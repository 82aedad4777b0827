# The Rust deep-learning notebooks (the Keras "GPU benchmarking" lesson on the evcxr kernel) as
# one image: for a learner, `docker run -p 127.0.0.1:8888:8888 IMAGE` and open the URL it prints;
# for a class, the single-user image of JupyterHub's DockerSpawner or Zero to JupyterHub.
#
#   docker build -t notebook-kit .          everything from source, ~15 min on 2 cores, 6.7 GB
#
# Conventions of the Jupyter docker-stacks: user jovyan (uid 1000, gid 100), HOME=/home/jovyan,
# tini as PID 1, port 8888; started by a hub (JUPYTERHUB_API_TOKEN set) it runs
# jupyterhub-singleuser. Everything the kernel needs lives under /opt/notebook-kit, installed by
# the project's own classroom/setup.sh (--kernels-only), so a hub's volume over /home/jovyan
# hides nothing of it; the notebooks are copied into ~/rust-lesson at start, never overwritten.
# README.md, "Run it in a container", has the run lines (data, GPU, volumes) and the build
# arguments; classroom/container/ the start script and the tests.

# A fixed, public tag. Rust from the official image rather than Debian's rustc-web 1.96: the kit
# is tested with 1.95, and Debian's toolchain ships no libstd-*.so, which evcxr's cells link.
ARG BASE_IMAGE=rust:1.95.0-slim-bookworm
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# g++ for libtorch's C++ wrapper (torch-sys), patch for our evcxr patch, Debian's Python 3.11 for
# the venv, tini to forward `docker stop` and reap; rust-src, which evcxr reads to know a
# variable's type (the official image's minimal profile leaves it out).
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ patch python3 python3-venv tini \
 && rm -rf /var/lib/apt/lists/* \
 && rustup component add rust-src

# The kit: a Python venv (torch 2.11.0 with its CUDA libraries, JupyterLab), evcxr_jupyter
# 0.22.0 with our patch, the crates vendored for offline builds, the kernel and its prebuilt
# compile folder. Only what that install reads is copied here, so that a change to a notebook
# or a doc rebuilds the small layer further down, not this one.
# Build-only arguments (neither is in the image): EXTRA_CA, see classroom/container/build-step.sh;
# REUSE, a folder holding evcxr/ of an earlier kernel-setup.sh install (mounted with -v) whose
# evcxr_jupyter build is copied instead of compiled (classroom/setup.sh --reuse).
ARG EXTRA_CA=
ARG REUSE=
COPY Cargo.toml Cargo.lock kernel-setup.sh requirements.txt /tmp/notebook-kit/
COPY crates /tmp/notebook-kit/crates
COPY patches /tmp/notebook-kit/patches
COPY tools /tmp/notebook-kit/tools
COPY classroom/setup.sh classroom/requirements.txt /tmp/notebook-kit/classroom/
COPY classroom/container/build-step.sh /tmp/notebook-kit/classroom/container/
RUN /tmp/notebook-kit/classroom/container/build-step.sh \
      /tmp/notebook-kit/classroom/setup.sh --prefix /opt/notebook-kit --kernels-only \
      ${REUSE:+--reuse "$REUSE"} \
 && rm -rf /tmp/notebook-kit

# jupyterhub-singleuser, of the hub's major version (JupyterHub wants them alike): the class
# server's 6.1.1 by default; Zero to JupyterHub 4.x runs 5.5.0 (--build-arg JUPYTERHUB_VERSION=5.5.0).
ARG JUPYTERHUB_VERSION=6.1.1
COPY classroom/container/build-step.sh /tmp/
RUN /tmp/build-step.sh /opt/notebook-kit/kit/venv/bin/pip install --disable-pip-version-check -q \
      "jupyterhub==${JUPYTERHUB_VERSION}" \
 && rm -f /tmp/build-step.sh

# The rest of the checkout (notebooks, the start scripts, docs). setup.sh's update replaces only
# what changed, so the crate keeps the copy the prebuilt folder was compiled from.
COPY . /tmp/notebook-kit/
RUN /tmp/notebook-kit/classroom/setup.sh --prefix /opt/notebook-kit --kernels-only \
 && rm -rf /tmp/notebook-kit /root/.cache /root/.local

# The user, last: repo2docker passes NB_USER and NB_UID, and a build with other values reuses
# every layer above. gid 100 is Debian's "users", as in the docker-stacks.
ARG NB_USER=jovyan
ARG NB_UID=1000
ARG NB_GID=100
RUN (getent group "${NB_GID}" >/dev/null || groupadd --gid "${NB_GID}" "${NB_USER}") \
 && useradd --no-log-init --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" "${NB_USER}"

ENV NOTEBOOK_KIT_PREFIX=/opt/notebook-kit \
    NB_USER=${NB_USER} \
    NB_UID=${NB_UID} \
    NB_GID=${NB_GID} \
    HOME=/home/${NB_USER} \
    SHELL=/bin/bash \
    LANG=C.UTF-8 \
    PATH=/opt/notebook-kit/kit/venv/bin:/opt/notebook-kit/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER ${NB_UID}
WORKDIR /home/${NB_USER}
EXPOSE 8888
ENTRYPOINT ["tini", "-g", "--"]
CMD ["/opt/notebook-kit/src/classroom/container/start.sh"]
