import { CellarError, type Storage } from "cellar";

/**
 * Balances start at 0 and grow by `deposit`: no user gets money from nowhere, and a test
 * (or a visitor) sees the insufficient-balance refusal at once. The ceiling keeps every
 * balance an exact integer.
 */
export const MAX_BALANCE = 1_000_000_000;

const keyOf = (userId: string) => `balance:${userId}`;

export async function balanceOf(storage: Storage, userId: string): Promise<number> {
  return (await storage.get<number>(keyOf(userId))) ?? 0;
}

export async function deposit(storage: Storage, userId: string, amount: number): Promise<number> {
  const balance = (await balanceOf(storage, userId)) + amount;
  if (balance > MAX_BALANCE) throw new CellarError("BALANCE_LIMIT", `A balance cannot exceed ${MAX_BALANCE}`);
  await storage.put(keyOf(userId), balance);
  return balance;
}

/**
 * Moves `amount` from one balance to another, all or nothing. The debit is written before
 * the credit is checked: when the credit is refused, the transaction's rollback is what
 * undoes the debit.
 */
export function transfer(storage: Storage, from: string, to: string, amount: number): Promise<{ from: number; to: number }> {
  return storage.transaction(async (txn) => {
    const fromBalance = (await txn.get<number>(keyOf(from))) ?? 0;
    if (fromBalance < amount) {
      throw new CellarError("INSUFFICIENT_FUNDS", `Your balance is ${fromBalance}, less than ${amount}`);
    }
    await txn.put(keyOf(from), fromBalance - amount);
    const toBalance = ((await txn.get<number>(keyOf(to))) ?? 0) + amount;
    if (toBalance > MAX_BALANCE) throw new CellarError("BALANCE_LIMIT", `${to}'s balance cannot exceed ${MAX_BALANCE}`);
    await txn.put(keyOf(to), toBalance);
    return { from: fromBalance - amount, to: toBalance };
  });
}
