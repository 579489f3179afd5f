#!/usr/bin/env node
// The `bga` command: the CLI is TypeScript (cli/), run through tsx, a runtime dependency.
import { register } from "tsx/esm/api";

register();
const { runFromProcess } = await import("../cli/main.ts");
await runFromProcess();
