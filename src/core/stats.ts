/**
 * `GET /v1/stats`: each component reports a named section of figures in JSON (the same
 * figures /metrics exposes to Prometheus, for people and scripts).
 */
export type StatsSection = () => Record<string, unknown>;

export class StatsRegistry {
  readonly #sections = new Map<string, StatsSection>();

  register(name: string, section: StatsSection): void {
    // An internal invariant (sections are registered once, at start, by the bridge's own code): no code of the registry.
    if (this.#sections.has(name)) throw new Error(`stats section ${name} is registered twice`);
    this.#sections.set(name, section);
  }

  report(): Record<string, Record<string, unknown>> {
    const report: Record<string, Record<string, unknown>> = {};
    for (const [name, section] of this.#sections) report[name] = section();
    return report;
  }
}
