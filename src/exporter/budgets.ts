/**
 * Team budgets: this calendar month's (UTC) allocated cost against the monthly budget set
 * in `TEAM_BUDGETS_USD`. Only teams with a budget are reported.
 */

export interface BudgetUse {
  team: string;
  budgetUsd: number;
  spentUsd: number;
  /** spent / budget; +Inf when a zero budget has any spend. */
  usedRatio: number;
}

export function budgetUse(budgets: Readonly<Record<string, number>>, monthCost: Readonly<Record<string, number>>): BudgetUse[] {
  return Object.entries(budgets)
    .map(([team, budgetUsd]) => {
      const spentUsd = monthCost[team] ?? 0;
      const usedRatio = budgetUsd > 0 ? spentUsd / budgetUsd : spentUsd > 0 ? Infinity : 0;
      return { team, budgetUsd, spentUsd, usedRatio };
    })
    .sort((a, b) => a.team.localeCompare(b.team));
}
