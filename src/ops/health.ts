/** HEALTHY / DEGRADED / UNHEALTHY (PROTOCOL.md §5): 503 only when UNHEALTHY. */
export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';

export interface ComponentHealth {
  status: HealthStatus;
  [detail: string]: unknown;
}

export type HealthCheck = () => ComponentHealth;

const RANK: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2 };

/** Components report their own health; the bridge's status is the worst of them. */
export class HealthRegistry {
  readonly #checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    this.#checks.set(name, check);
  }

  report(): { status: HealthStatus; components: Record<string, ComponentHealth> } {
    let status: HealthStatus = 'HEALTHY';
    const components: Record<string, ComponentHealth> = {};
    for (const [name, check] of this.#checks) {
      let component: ComponentHealth;
      try {
        component = check();
      } catch (error) {
        component = { status: 'UNHEALTHY', error: (error as Error).message };
      }
      components[name] = component;
      if (RANK[component.status] > RANK[status]) status = component.status;
    }
    return { status, components };
  }
}
