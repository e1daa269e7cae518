/**
 * Latches a test opens by name, so a handler can be held mid-await without sleeping:
 * `await gate.wait("go")` in the handler, `gate.release("go")` in the test.
 */
export function latches() {
  const open = new Map<string, () => void>();
  const waiting = new Map<string, Promise<void>>();
  const wait = (name: string): Promise<void> => {
    let promise = waiting.get(name);
    if (!promise) {
      promise = new Promise<void>((resolve) => open.set(name, resolve));
      waiting.set(name, promise);
    }
    return promise;
  };
  return {
    wait,
    release: (name: string): void => {
      void wait(name);
      open.get(name)!();
    },
  };
}
