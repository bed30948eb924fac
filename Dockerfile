# fleck serve in a container: the detector as an HTTP API on port 8080.
#
#   docker build -t fleck .
#   docker run --rm -p 127.0.0.1:8080:8080 fleck
#   curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' http://127.0.0.1:8080/v1/detect
#
# Options of `fleck serve` go after the image name, replacing the command, e.g.
#   docker run --rm -p 127.0.0.1:8080:8080 fleck fleck serve --host 0.0.0.0 --workers 4
# Workers default to the container's CPU quota (cgroup cpu.max), else its cores.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/fleck
COPY pyproject.toml README.md LICENSE ./
COPY fleck ./fleck
# fleck from this checkout (nothing to pin: DL3013); every dependency installs as a wheel.
# hadolint ignore=DL3013
RUN pip install ".[serve]" \
    && groupadd --gid 10001 fleck \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin fleck

# Numeric, so that runtimes can check it is not root (runAsNonRoot).
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["fleck", "serve", "--host", "0.0.0.0", "--port", "8080"]
