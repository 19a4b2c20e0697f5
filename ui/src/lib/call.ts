// Unwraps the typed command results: the data, or a thrown UiError with words for staff.
import type { UiError } from "./bindings";

export type CommandResult<T> = { status: "ok"; data: T } | { status: "error"; error: UiError };

/** The command's data; throws its `UiError` (or one saying the app could not be reached). */
export async function unwrap<T>(answer: Promise<CommandResult<T>>): Promise<T> {
  let result: CommandResult<T>;
  try {
    result = await answer;
  } catch (cause) {
    throw {
      code: "not_running",
      message: `Deskbridge could not talk to its own background service (${String(cause)}). Restart Deskbridge.`,
    } satisfies UiError;
  }
  if (result.status === "error") {
    throw result.error;
  }
  return result.data;
}

/** The words of anything a command threw. */
export function messageOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
