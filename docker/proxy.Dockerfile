# syntax=docker/dockerfile:1.7
# Argus proxy: the enforcement proxy in front of LLM, MCP and HTTP upstreams
# Build from the repository root:  docker build -f docker/proxy.Dockerfile -t argus/proxy .
# (BuildKit reads docker/proxy.Dockerfile.dockerignore beside this file.)

# ---- manifests: only the package.json files, so the dependency layer is cached until they change
FROM node:20-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out && cp package.json package-lock.json /out/ \
 && find apps libs tests -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /out/ \; \
 && cp --parents scripts/build.mjs /out/

# ---- build: the JavaScript the image runs (scripts/build.mjs: esbuild bundles the app's TypeScript
# with the workspace libraries inlined; packages from node_modules stay imports). Dev dependencies
# (esbuild) live only in this stage.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY --from=manifests /out/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
RUN node scripts/build.mjs proxy

# ---- deps: production dependencies; better-sqlite3 (and any other native addon) compiled here
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp builds against the headers shipped in the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY --from=manifests /out/ ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" \
 && node -e "import('@cedar-policy/cedar-wasm/nodejs').then((c) => { if (typeof c.isAuthorized !== 'function') process.exit(1) })" \
 && npm cache clean --force

# ---- runtime: no compiler, no dev dependencies, non-root
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    ARGUS_PROXY_HOST=0.0.0.0 \
    ARGUS_PROXY_PORT=8080 \
    ARGUS_PROXY_CONFIG=/etc/argus/proxy.yaml
WORKDIR /app
COPY --from=deps /app/ ./
COPY --from=build /src/dist/proxy ./dist/proxy
COPY tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
COPY schemas ./schemas
COPY cedar ./cedar
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
# State lives in /data; the default relative paths (.argus/argus.db, .argus/audit-spill) land there too.
RUN mkdir -p /data && chown node:node /data && ln -s /data /app/.argus
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 CMD ["node", "docker/healthcheck.mjs", "http://127.0.0.1:8080/healthz"]
STOPSIGNAL SIGTERM
# Built JavaScript: no TypeScript compiler (tsx) at run time. The sources stay beside it: the bundle
# reads schemas, console assets and heuristics where they are in the tree.
CMD ["node", "dist/proxy/main.mjs"]
