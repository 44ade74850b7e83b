/**
 * Work allowed per turn of the event loop, shared by everyone in this thread
 * who takes from it: once a turn's budget is spent, `take` waits for the next
 * turn (a `setImmediate`), so callers whose awaits resolve at once (a stream
 * write with credit to spare) still let timers and I/O in between.
 */
class TurnBudget {
  protected spent = 0;
  protected resetScheduled = false;
  protected nextTurnP?: Promise<void>;

  public constructor(protected perTurn: number) {}

  /** Resolves at once while this turn has budget left, else at the next turn. */
  public take(amount: number): Promise<void> | undefined {
    if (this.spent >= this.perTurn) {
      return (this.nextTurnP ??= new Promise<void>((resolve) =>
        setImmediate(() => {
          this.nextTurnP = undefined;
          this.spent = 0;
          resolve();
        }),
      )).then(() => this.take(amount));
    }
    this.spent += amount;
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(() => {
        this.resetScheduled = false;
        this.spent = 0;
      });
    }
    return undefined;
  }
}

/** Bytes the main thread's stream writes copy towards the worker per turn (all streams). */
const writeBudget = new TurnBudget(512 * 1024);

export default TurnBudget;
export { writeBudget };
