# The harness container (SPEC §9): one per harness task, on AWS Fargate (linux/arm64), built by
# `cdk deploy` (infra/constructs/harness-task.ts: ContainerImage.fromAsset). It holds node, git
# and the coding CLIs pinned in package-lock.json (@anthropic-ai/claude-code, @openai/codex),
# installed with `npm ci` and run from node_modules, never from PATH; and the entrypoint,
# functions/harness/main.ts, which runs the one harness runner against the internal API with the
# capability of its task. It holds no AWS credential that reaches the table or any secret.
FROM public.ecr.aws/docker/library/node:24-bookworm-slim

RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked (the CLIs' own install scripts fetch nothing
# the lockfile does not name for linux-arm64).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY functions/harness ./functions/harness

# The CLI runs arbitrary shell commands: not as root. Workspaces and homes go under /tmp.
USER node
ENV NODE_ENV=production TMPDIR=/tmp
ENTRYPOINT ["node", "--import", "tsx", "functions/harness/main.ts"]
