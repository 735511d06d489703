# webgate node image, used by docker-compose.yml (two nodes + a one-shot migrate).
#   docker build -t webgate:local .
# Stage 1 builds the single-page app; stage 2 installs the Python package with the
# built UI inside it (webgate/static is package data) and runs as a non-root user.

# --- 1. the single-page app (frontend/ -> webgate/static) ----------------------------
FROM node:20-bookworm-slim AS spa
WORKDIR /src
# Dependencies first so that a source change does not re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY vite.config.ts tsconfig.json ./
COPY frontend ./frontend
RUN mkdir -p webgate/static && npm run build

# --- 2. the Python service -----------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# uid/gid 1000 on purpose: the official guacamole/guacd image runs as 1000:1000, and
# both write the shared recordings volume.
RUN groupadd --gid 1000 webgate \
 && useradd --uid 1000 --gid 1000 --home-dir /var/lib/webgate --no-create-home \
            --shell /usr/sbin/nologin webgate

WORKDIR /app
COPY pyproject.toml README.md ./
COPY webgate ./webgate
COPY --from=spa /src/webgate/static ./webgate/static
RUN pip install . && rm -rf build ./*.egg-info

# Local state. In compose, secrets/ and data/spool/drive/ (RDP shared drives) are volumes
# shared between the nodes (and guacd); a named volume takes this ownership when first mounted.
RUN mkdir -p /var/lib/webgate/data/spool/drive /var/lib/webgate/secrets /var/lib/webgate/recordings \
 && chown -R webgate:webgate /var/lib/webgate \
 && chmod 0700 /var/lib/webgate/secrets
ENV WEBGATE_DATA_DIR=/var/lib/webgate/data \
    WEBGATE_STORAGE_URL=file:///var/lib/webgate/recordings \
    WEBGATE_HOST=0.0.0.0 \
    WEBGATE_PORT=8080

# numeric, so that runtimes can verify "not root" (Kubernetes runAsNonRoot)
USER 1000:1000
WORKDIR /var/lib/webgate
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBGATE_PORT', '8080'), timeout=2).status == 200 else 1)"]
CMD ["webgate", "serve", "--host", "0.0.0.0"]
