/**
 * Loose PromQL reading, enough to check that dashboards and alert rules only query metrics that
 * exist: the metric names an expression selects, and every `expr` of a Grafana dashboard or a
 * Prometheus rule file.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'atan2',
]);

/** The metric names an expression selects (functions, keywords, labels and Grafana variables left out). */
export function metricNamesIn(expr: string): string[] {
  const s = expr
    .replace(/#.*$/gm, ' ') // comments
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers (and the variables in them)
    .replace(/\[[^\]]*\]/g, ' ') // range selectors, subqueries, $__rate_interval
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const before = m.index === 0 ? '' : s[m.index - 1];
    if (/[\w.$]/.test(before)) continue; // part of a number (1e3) or a variable ($name)
    const after = s.slice(m.index + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function or an aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

export interface QuerySite {
  /** Where the expression is, e.g. `panel "Failure rate" A` or `rule BreakwaterStoreErrors`. */
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly refId?: string; readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

/** Every target expression of a Grafana dashboard (rows' nested panels included), and the query variables. */
export function dashboardQueries(dashboard: {
  readonly panels?: readonly Panel[];
  readonly templating?: {
    readonly list?: readonly { readonly name?: string; readonly definition?: string }[];
  };
}): QuerySite[] {
  const out: QuerySite[] = [];
  const walk = (panels: readonly Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string') out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      }
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    // label_values(metric, label): the metric must exist too
    const m = /^label_values\(\s*([^,)]+)\s*,/.exec(v.definition ?? '');
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1] });
  }
  return out;
}

/** Every `expr` of a Prometheus rule file (parsed YAML). */
export function ruleQueries(rules: {
  readonly groups?: readonly {
    readonly rules?: readonly { readonly alert?: string; readonly record?: string; readonly expr?: string }[];
  }[];
}): QuerySite[] {
  const out: QuerySite[] = [];
  for (const g of rules.groups ?? []) {
    for (const r of g.rules ?? []) {
      if (typeof r.expr === 'string') out.push({ where: `rule ${r.alert ?? r.record}`, expr: r.expr });
    }
  }
  return out;
}

/** Grafana's variables replaced by values Prometheus accepts, to run a dashboard query for real. */
export function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m').replace(/\$\{?name\}?/g, '.*');
}
