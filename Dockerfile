# Not built in CI (no Docker engine on the CI machines); installs the project as .ci/run does:
# the locked runtime dependencies (hashes checked), then the project without its dependencies.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
RUN useradd --create-home --uid 10001 vvs && mkdir /data && chown vvs /data
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --require-hashes -r requirements/pip.lock \
    && pip install --no-cache-dir --require-hashes -r requirements/runtime.lock \
    && pip install --no-cache-dir --no-deps /app && rm -rf /root/.cache
USER vvs
VOLUME ["/data"]
EXPOSE 8080
CMD ["vvs-bot"]
