/** Longest delay setTimeout honours; beyond it Node fires after 1 ms instead. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;
