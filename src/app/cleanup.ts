/**
 * Undo actions registered while a use case changes things users own (restore flake.lock, remove
 * temporary GC roots). The CLI runs them on error and on SIGINT/SIGTERM; a use case removes its
 * entry once the change is final.
 */
export type CleanupFn = () => Promise<void> | void;

export class Cleanup {
  private readonly actions = new Map<number, CleanupFn>();
  private next = 0;

  /** Register an action; returns a function that unregisters it. */
  add(action: CleanupFn): () => void {
    const id = this.next++;
    this.actions.set(id, action);
    return () => {
      this.actions.delete(id);
    };
  }

  /** Run every registered action, newest first; errors are collected, not thrown. */
  async runAll(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const ids = [...this.actions.keys()].reverse();
    for (const id of ids) {
      const action = this.actions.get(id);
      this.actions.delete(id);
      try {
        await action?.();
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }

  get size(): number {
    return this.actions.size;
  }
}
