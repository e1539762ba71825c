#!/bin/sh
# Copy the front-end libraries' dist files (installed by `npm ci` from package-lock.json) from
# node_modules/ to var/vendor/, which the settings serve as /static/vendor/. Used by `make assets`
# and the Dockerfile, so both ship the same files.
set -eu
rm -rf var/vendor
mkdir -p var/vendor/htmx var/vendor/swagger-ui
cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE var/vendor/htmx/
cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
  node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js node_modules/swagger-ui-dist/favicon-32x32.png \
  node_modules/swagger-ui-dist/LICENSE var/vendor/swagger-ui/
