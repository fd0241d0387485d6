/**
 * Compile-time bounds on CEL expressions, shared by rule conditions and templates
 * (rules/expressions.ts) and endpoint payload filters (outbound/payload-filter.ts): CEL runs
 * synchronously on the event loop, so what an expression may cost is decided by its shape.
 */

interface CelNode {
  op: string;
  args: unknown;
}

/** Why the expression (a parsed CEL AST) could cost out of proportion to its input, or null. */
export function celCostProblem(ast: unknown): string | null {
  return costProblem(ast as CelNode, null);
}

const COMPREHENSIONS = new Set(["all", "exists", "exists_one", "map", "filter"]);

/**
 * Why a CEL expression could take time out of proportion to the event it reads, or null. CEL
 * evaluates synchronously, so it is bounded by its shape, checked once at compile time: the AST
 * size and depth are capped by the environment; a comprehension (all, exists, map, …) inside
 * another must range over a part of the outer one's item (`items.all(i, i.tags.exists(…))` is
 * linear in the event, `items.all(i, items.exists(…))` quadratic); and `matches` takes a pattern
 * written in the expression (not one from the event) that cannot backtrack exponentially (ReDoS).
 */
function costProblem(node: CelNode, itemVars: readonly string[] | null): string | null {
  if (node.op === "rcall" || node.op === "call") {
    const [name, ...rest] = node.args as [string, ...unknown[]];
    if (node.op === "rcall" && COMPREHENSIONS.has(name)) {
      const root = rootId(rest[0] as CelNode);
      if (itemVars !== null && (root === null || !itemVars.includes(root))) {
        return `${name}(…) inside another comprehension must range over a part of the outer item, not over the whole event again (the cost would grow with the square of the event's size)`;
      }
      // The list it ranges over is judged where the comprehension stands; its body inside it.
      const receiverProblem = costProblem(rest[0] as CelNode, itemVars);
      if (receiverProblem !== null) return receiverProblem;
      const body = (rest[1] as CelNode[] | undefined) ?? [];
      const item = body[0];
      const inner = [...(itemVars ?? []), ...(item?.op === "id" ? [item.args as string] : [])];
      for (const child of body) {
        const problem = costProblem(child, inner);
        if (problem !== null) return problem;
      }
      return null;
    }
    if (name === "matches") {
      const args = (node.op === "rcall" ? rest[1] : rest[0]) as CelNode[] | undefined;
      const pattern = args?.[args.length - 1];
      if (pattern?.op !== "value" || typeof pattern.args !== "string") {
        return "matches(…) takes its pattern as a literal text written in the expression, not from the event";
      }
      const backtracks = backtrackingProblem(pattern.args);
      if (backtracks !== null) return `the pattern "${pattern.args}" ${backtracks}`;
    }
  }
  for (const child of childNodes(node.args)) {
    const problem = costProblem(child, itemVars);
    if (problem !== null) return problem;
  }
  return null;
}

/** The variable a field path starts from (`x` of `x.a["b"]`), or null. */
function rootId(node: CelNode): string | null {
  if (node.op === "id") return node.args as string;
  if (node.op === "." || node.op === "[]" || node.op === ".?") {
    return rootId((node.args as [CelNode])[0]);
  }
  return null;
}

function childNodes(args: unknown): CelNode[] {
  if (Array.isArray(args)) return args.flatMap(childNodes);
  if (typeof args === "object" && args !== null && "op" in args) return [args as CelNode];
  return [];
}

/**
 * Why a regular expression could backtrack exponentially on some input, or null: a repeated
 * group (`(…)+`, `(…)*`, `(…){2,}`) holding a repetition or an alternation, as `(a+)+`,
 * `((a)+)+` or `(a|aa)+`, or a back-reference. JavaScript's engine backtracks, so the event
 * (the text matched) must not be able to choose how long a match takes.
 */
export function backtrackingProblem(pattern: string): string | null {
  // Per open group: whether it holds a quantifier or an alternation (a nested group's count).
  const open: boolean[] = [];
  let lastGroupRisky = false;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const quantifier = c === "+" || c === "*" || c === "?" || c === "{";
    if (c === "\\") {
      if (!inClass && /[1-9k]/.test(pattern[i + 1] ?? "")) {
        return "uses a back-reference, which can take exponential time";
      }
      i++;
      lastGroupRisky = false;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      lastGroupRisky = false;
      continue;
    }
    if (c === "(") {
      open.push(false);
      // (?:…), (?=…), (?!…), (?<=…), (?<!…), (?<name>…): the ? says what group, not how many.
      const kind = /^\?(?:<[A-Za-z_$][\w$]*>|<=|<!|[:=!])/.exec(pattern.slice(i + 1));
      if (kind !== null) i += kind[0].length;
      continue;
    }
    if (c === ")") {
      lastGroupRisky = open.pop() ?? false;
      if (open.length > 0 && lastGroupRisky) open[open.length - 1] = true;
      continue;
    }
    if (quantifier && pattern[i - 1] === ")" && lastGroupRisky && c !== "?") {
      return "repeats a group that holds a repetition or an alternation, which can take exponential time; write it without nested quantifiers";
    }
    if ((quantifier || c === "|") && open.length > 0) open[open.length - 1] = true;
    lastGroupRisky = false;
  }
  return null;
}
