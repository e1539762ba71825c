FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Compiled catalogues (.mo) are committed; static files are collected at build time.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v 0
RUN useradd --create-home alumni && mkdir -p var/media && chown -R alumni var
USER alumni
EXPOSE 8000
