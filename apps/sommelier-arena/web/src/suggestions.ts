/**
 * Built-in lists the editor suggests from and fills distractors with, and the fun pseudonyms
 * the join form suggests.
 */
import type { Category } from "../../src/shared/protocol.js";

export const COLORS = ["Red", "White", "Rosé", "Orange", "Sparkling", "Sparkling rosé", "Amber", "Tawny", "Fortified", "Sweet white"];

export const COUNTRIES = [
  "France", "Italy", "Spain", "Portugal", "Germany", "Austria", "Switzerland", "Greece", "Hungary", "Slovenia",
  "Croatia", "Georgia", "Romania", "Bulgaria", "Moldova", "Lebanon", "Israel", "United States", "Canada", "Mexico",
  "Chile", "Argentina", "Uruguay", "Brazil", "South Africa", "Australia", "New Zealand", "China", "Japan", "England",
];

export const GRAPES = [
  "Cabernet Sauvignon", "Merlot", "Pinot Noir", "Syrah", "Shiraz", "Grenache", "Tempranillo", "Sangiovese", "Nebbiolo", "Malbec",
  "Zinfandel", "Primitivo", "Cabernet Franc", "Carménère", "Mourvèdre", "Gamay", "Barbera", "Montepulciano", "Aglianico", "Nero d'Avola",
  "Touriga Nacional", "Pinotage", "Petit Verdot", "Tannat", "Carignan", "Cinsault", "Blaufränkisch", "Zweigelt", "Corvina", "Dolcetto",
  "Saperavi", "Xinomavro", "Mencía", "Lagrein", "Chardonnay", "Sauvignon Blanc", "Riesling", "Pinot Grigio", "Pinot Gris", "Chenin Blanc",
  "Gewürztraminer", "Viognier", "Sémillon", "Grüner Veltliner", "Albariño", "Verdejo", "Muscat", "Moscato", "Marsanne", "Roussanne",
  "Vermentino", "Trebbiano", "Garganega", "Fiano", "Assyrtiko", "Torrontés", "Furmint", "Melon de Bourgogne", "Glera", "Palomino",
  "Rkatsiteli", "Silvaner",
];

export const FAMOUS_WINES = [
  "Château Margaux", "Château Latour", "Château Lafite Rothschild", "Château d'Yquem", "Petrus", "Romanée-Conti",
  "Chablis Premier Cru", "Sancerre", "Pouilly-Fumé", "Châteauneuf-du-Pape", "Côte-Rôtie", "Hermitage", "Crozes-Hermitage",
  "Beaujolais Nouveau", "Barolo", "Barbaresco", "Brunello di Montalcino", "Chianti Classico", "Amarone della Valpolicella",
  "Prosecco", "Franciacorta", "Rioja Reserva", "Ribera del Duero", "Priorat", "Cava", "Vinho Verde", "Port", "Madeira",
  "Tokaji Aszú", "Mosel Riesling Kabinett", "Sassicaia", "Tignanello", "Vega Sicilia Único", "Penfolds Grange", "Opus One",
  "Cloudy Bay Sauvignon Blanc", "Catena Malbec", "Almaviva", "Champagne Brut", "Dom Pérignon",
];

export const PSEUDONYMS = [
  "Tipsy Tannin", "Merlot Monroe", "Pinot Envy", "Sir Sips-a-Lot", "Grape Expectations", "Rosé All Day", "Cork Dork",
  "Vino Veritas", "Cabernet Sauvage", "The Decanter", "Sauvignon Blanc-et", "Bubbly Bandit", "Swirl & Sniff",
  "Riesling Rebel", "Syrah Sunshine", "Malbec Mystic", "Chablis Chaser", "Barrel Baron", "Sommeli-yay", "Port Authority",
  "Zinful Zelda", "Bordeaux Boss", "Prosecco Pal", "Gamay Gamer", "Tempranillo Tango", "Nebbiolo Ninja", "Vintage Vixen",
  "Oaky Dokey", "Lees Please", "Brut Force",
];

export const VINTAGE_RANGE = { first: 1945, last: new Date().getFullYear() } as const;

/** Every vintage from the latest back, for the autocomplete (built once: every question row lists it). */
const VINTAGES: readonly string[] = Array.from({ length: VINTAGE_RANGE.last - VINTAGE_RANGE.first + 1 }, (_, i) => String(VINTAGE_RANGE.last - i));

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Years one to five away from `correct` (or recent years when it is not a year), in random order. */
function nearbyVintages(correct: string): string[] {
  const year = Number.parseInt(correct, 10);
  if (!Number.isInteger(year) || year < 1800 || year > 2200) {
    const recent = Array.from({ length: 20 }, (_, i) => String(VINTAGE_RANGE.last - 1 - i));
    return shuffled(recent);
  }
  const near = [1, 2, 3, 4, 5].flatMap((d) => [year - d, year + d]).filter((y) => y <= VINTAGE_RANGE.last);
  // Closer years first, each distance in random order, so the options stay plausible.
  return near
    .map((y) => ({ y, key: Math.abs(y - year) + Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ y }) => String(y));
}

/** The pool an empty distractor is filled from (the session's other wine names first for `wine_name`). */
export function candidates(category: Category, correct: string, otherWineNames: readonly string[] = []): string[] {
  switch (category) {
    case "color":
      return shuffled(COLORS.slice(0, 5)).concat(shuffled(COLORS.slice(5)));
    case "country":
      return shuffled(COUNTRIES);
    case "grape_variety":
      return shuffled(GRAPES);
    case "vintage_year":
      return nearbyVintages(correct);
    case "wine_name":
      return [...shuffled(otherWineNames), ...shuffled(FAMOUS_WINES)];
  }
}

/** The autocomplete list for a category's correct answer. */
export function answerList(category: Category): readonly string[] {
  switch (category) {
    case "color":
      return COLORS;
    case "country":
      return COUNTRIES;
    case "grape_variety":
      return GRAPES;
    case "vintage_year":
      return VINTAGES;
    case "wine_name":
      return FAMOUS_WINES;
  }
}

const key = (text: string) => text.trim().toLocaleLowerCase("en");

/**
 * Fills the empty distractors from the category's list, never repeating the correct answer
 * nor another option (compared case-insensitively); filled ones are kept.
 */
export function autoFill(
  category: Category,
  correct: string,
  distractors: readonly [string, string, string],
  otherWineNames: readonly string[] = [],
): [string, string, string] {
  const used = new Set([correct, ...distractors].filter((t) => t.trim() !== "").map(key));
  const pool = candidates(category, correct, otherWineNames).filter((c) => !used.has(key(c)));
  const next = [...distractors] as [string, string, string];
  for (let i = 0; i < next.length; i++) {
    if (next[i]!.trim() !== "") continue;
    // The pool may hold a text twice (a session's wine that is also a famous one).
    let choice = pool.shift();
    while (choice !== undefined && used.has(key(choice))) choice = pool.shift();
    if (choice === undefined) break;
    used.add(key(choice));
    next[i] = choice;
  }
  return next;
}

export function suggestPseudonym(avoid = ""): string {
  const options = PSEUDONYMS.filter((p) => p !== avoid);
  return options[Math.floor(Math.random() * options.length)]!;
}
