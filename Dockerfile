# Island Rides API image: `docker build -t island-rides .` then
#   docker run --rm -e DATABASE_URL=... island-rides island-api migrate
#   docker run -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... -e JWT_SECRET=... island-rides
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=prod \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    LOG_DIR=/var/log/island-rides

WORKDIR /app

# Pinned dependencies first: this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY api ./api
COPY agent ./agent
COPY checks ./checks
COPY exporters ./exporters
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app island \
    && mkdir -p "$LOG_DIR" && chown island "$LOG_DIR"

USER island
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}/livez\", timeout=2)"]
CMD ["island-api", "serve", "--workers", "2"]
