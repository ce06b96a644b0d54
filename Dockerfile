# The web app, worker and beat image (docker-compose.yml runs it three ways).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt ./
RUN pip install -c constraints.txt .
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput \
 && useradd --system --home /app csp && mkdir -p /app/var && chown -R csp /app/var
USER csp

EXPOSE 8000
CMD ["gunicorn", "cs_platform.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
