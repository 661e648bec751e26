// Jest global tear-down: removes the container stack stack-setup.ts started (if any).
export default async function teardown(): Promise<void> {
  const stack = globalThis.pfmTestStack;
  globalThis.pfmTestStack = undefined;
  await stack?.stop();
}
