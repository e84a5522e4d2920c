# The image the Helm chart runs (helm/pprof-exporter, image.tag = appVersion = package.json version):
#   docker build -t ghcr.io/pprof-exporter/pprof-exporter:0.1.0 .
# Build stage: compile the TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --ignore-scripts && npm run build

# Runtime dependencies only, without install scripts (prepare would run tsc).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# nobody:nogroup, numeric so runAsNonRoot can check it; the chart runs the same ids.
USER 65534:65534
EXPOSE 10066
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["--config.file=/etc/pprof-exporter/pprof-exporter.yml"]
