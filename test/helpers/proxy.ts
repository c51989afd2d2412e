import { afterEach } from 'vitest';
import { CuttingProxy } from './cutting-proxy.js';

const running: TestProxy[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close()));
});

/** A CuttingProxy closed after the test. */
export class TestProxy extends CuttingProxy {
  static override async start(target: string): Promise<TestProxy> {
    const proxy = new TestProxy(target);
    await proxy.listen();
    running.push(proxy);
    return proxy;
  }
}
