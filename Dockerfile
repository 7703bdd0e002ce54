# syntax=docker/dockerfile:1
# One image for every service: the entrypoint is the CLI, the service is the argument
# (`producer`, `consumer`, `exporter`; also `submit` for the CronJob).
#   docker build -t dev.local/batchinfer:0.1.0 .
#   docker run --rm -e REDIS_URL=redis://host:6379 dev.local/batchinfer:0.1.0 consumer
ARG NODE_IMAGE=node:22-bookworm-slim

# Production dependencies only. package-lock.json keeps entries for other platforms'
# optional msgpackr-extract binaries; npm ci skips those that do not match.
# .npmrc keeps onnxruntime-node's install script from downloading anything: its CPU
# binaries ship in the package. Only the image's own platform's binaries are kept.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
  && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} + \
  && find node_modules/onnxruntime-node/bin -path '*/linux/*' -mindepth 3 -maxdepth 3 -type d ! -name "$(node -p process.arch)" -exec rm -rf {} +

# The build: dev dependencies (TypeScript, esbuild) and sources, compiled to dist/ and
# bundled into dist/bundle/ (what runs: it starts markedly faster, see BENCHMARKS.md).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
# src/ includes the store's Lua scripts (src/shared/batch/lua), copied into dist/bundle/lua by the build.
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# Node's compile cache (Node 22): V8's compiled code for every module of the bundle, made here
# once so a scaled-from-zero pod does not parse and compile the bundle again (BENCHMARKS.md).
ENV NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/bundle ./dist/bundle
COPY package.json scripts/warm-compile-cache.mjs ./
RUN install -d -o 1000 -g 1000 /app/compile-cache
# Models baked into an image built FROM this one go here (MODEL_ROOT in the manifests).
ENV MODEL_ROOT=/models
# The `node` user of the official image, by number so runAsNonRoot can verify it.
USER 1000:1000
RUN node warm-compile-cache.mjs dist/bundle
EXPOSE 8080
# Exec form: node is PID 1's only process and receives SIGTERM itself, so the drain runs.
ENTRYPOINT ["node", "dist/bundle/cli.js"]
CMD ["--help"]
