// Limits the agent's API and its clients share (a module of its own, so that
// the root CLI's small hand-over bundle can read them without the API's schemas).

/** The longest an action asked through the API waits for its service's lock, in seconds: the API's `waitlock` maximum, and its default. */
export const API_WAITLOCK_MAX_S = 3600;
