# Front-end libraries from the npm registry (package-lock.json), as `make assets` installs them.
FROM node:24-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/vendor_assets.sh scripts/
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && sh scripts/vendor_assets.sh

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=assets /app/var/vendor var/vendor
# Compiled catalogues (.mo) are committed; static files are collected at build time.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v 0
RUN useradd --create-home alumni && mkdir -p var/media && chown -R alumni var
USER alumni
EXPOSE 8000
