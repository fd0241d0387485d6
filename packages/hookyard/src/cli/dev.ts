import type { ServeRequest } from "./serve.js";

export function renderDevHelp(): string {
  return "Usage: hookyard dev [options]\n";
}

export async function runDev(req: ServeRequest): Promise<number> {
  req.io.stderr.write("hookyard dev: not built yet\n");
  return Promise.resolve(1);
}
