/** A venue of the demo catalogue; `key` is how events refer to it. */
export interface DemoVenue { key: string; name: string; city: string; country: string }

/** A priced block of seats: `rows` rows of `seatsPerRow` seats each. `price` is in minor units (cents). */
export interface DemoSection { name: string; price: number; rows: number; seatsPerRow: number }

/** Dates are relative to the moment the seed runs, so the demo never goes stale. */
export interface DemoEvent {
  title: string; performer: string; category: string; venue: string; // venue key
  startsInDays: number;   // days from now, 3..300
  startHour: number;      // local-ish hour of day in UTC, 17..21
  onSaleInDays: number;   // negative = already on sale (most events); positive = goes on sale later (a few)
  onSaleInMinutes?: number; // instead of onSaleInDays: minutes after the seed runs (the gated demo event)
  currency: string;       // ISO 4217, matching the venue's country (USD, GBP, EUR, CAD, AUD, JPY...). Prices for JPY are still minor units (JPY has none, so the value is whole yen).
  sections: DemoSection[];
  maxTicketsPerUser?: number;
  holdDurationSeconds?: number;
  waitingRoom?: { opensInDays: number; admissionsPerMinute: number; admissionWindowSeconds?: number };
}

/** The demo venues: fictional names in real cities. */
export const demoVenues: DemoVenue[] = [
  { key: 'meridian-stadium', name: 'Meridian Stadium', city: 'London', country: 'United Kingdom' },
  { key: 'kingsway-playhouse', name: 'Kingsway Playhouse', city: 'London', country: 'United Kingdom' },
  { key: 'cottonmill-arena', name: 'Cottonmill Arena', city: 'Manchester', country: 'United Kingdom' },
  { key: 'heathmoor-park', name: 'Heathmoor Park', city: 'Manchester', country: 'United Kingdom' },
  { key: 'old-quay-playhouse', name: 'Old Quay Playhouse', city: 'Dublin', country: 'Ireland' },
  { key: 'ironworks-arena', name: 'Ironworks Arena', city: 'New York', country: 'United States' },
  { key: 'greyline-theatre', name: 'Greyline Theatre', city: 'New York', country: 'United States' },
  { key: 'copper-hall', name: 'The Copper Hall', city: 'Chicago', country: 'United States' },
  { key: 'lakefront-fieldhouse', name: 'Lakefront Fieldhouse', city: 'Chicago', country: 'United States' },
  { key: 'wabash-playhouse', name: 'Wabash Playhouse', city: 'Chicago', country: 'United States' },
  { key: 'bluebonnet-pavilion', name: 'Bluebonnet Pavilion', city: 'Austin', country: 'United States' },
  { key: 'capitol-city-coliseum', name: 'Capitol City Coliseum', city: 'Austin', country: 'United States' },
  { key: 'sunset-ridge-amphitheatre', name: 'Sunset Ridge Amphitheatre', city: 'Los Angeles', country: 'United States' },
  { key: 'harbourfront-arena', name: 'Harbourfront Arena', city: 'Toronto', country: 'Canada' },
  { key: 'kensington-stage', name: 'Kensington Stage', city: 'Toronto', country: 'Canada' },
  { key: 'spreeufer-halle', name: 'Spreeufer Halle', city: 'Berlin', country: 'Germany' },
  { key: 'grachtenzaal', name: 'De Grachtenzaal', city: 'Amsterdam', country: 'Netherlands' },
  { key: 'theatre-quatre-vents', name: 'Théâtre des Quatre Vents', city: 'Paris', country: 'France' },
  { key: 'minato-bay-arena', name: 'Minato Bay Arena', city: 'Tokyo', country: 'Japan' },
  { key: 'wattle-street-theatre', name: 'Wattle Street Theatre', city: 'Sydney', country: 'Australia' },
  { key: 'yarra-bend-arena', name: 'Yarra Bend Arena', city: 'Melbourne', country: 'Australia' },
];

/** The demo events: the 20,000-seat stadium show first, the gated on-sale second, then the catalogue. */
export const demoEvents: DemoEvent[] = [
  // The big one: 20,000 seats, already on sale.
  {
    title: 'Aurora Vale — Starlight Stadium Tour', performer: 'Aurora Vale', category: 'concert', venue: 'meridian-stadium',
    startsInDays: 74, startHour: 19, onSaleInDays: -45, currency: 'GBP', maxTicketsPerUser: 6,
    sections: [
      { name: 'Pitch Standing A', price: 14500, rows: 50, seatsPerRow: 60 },
      { name: 'Pitch Standing B', price: 11500, rows: 50, seatsPerRow: 60 },
      { name: 'Lower Tier', price: 9500, rows: 60, seatsPerRow: 80 },
      { name: 'Club Level', price: 22500, rows: 20, seatsPerRow: 60 },
      { name: 'Upper Tier', price: 6500, rows: 80, seatsPerRow: 90 },
      { name: 'Hospitality Boxes', price: 39500, rows: 20, seatsPerRow: 40 },
    ],
  },
  // The rush: gated behind a waiting room that is open from the start; the on-sale (and its raffle) comes ten
  // minutes after the seed, so that a newcomer can try the pre-queue, the raffle and admission in one sitting.
  {
    title: 'Velvet Comet — Gravity Tour', performer: 'Velvet Comet', category: 'concert', venue: 'ironworks-arena',
    startsInDays: 38, startHour: 20, onSaleInDays: 0, onSaleInMinutes: 10, currency: 'USD', maxTicketsPerUser: 4,
    waitingRoom: { opensInDays: -1, admissionsPerMinute: 500, admissionWindowSeconds: 900 },
    sections: [
      { name: 'Floor', price: 12500, rows: 40, seatsPerRow: 50 },
      { name: 'Lower Bowl', price: 9500, rows: 40, seatsPerRow: 60 },
      { name: 'Upper Bowl', price: 5500, rows: 50, seatsPerRow: 60 },
      { name: 'VIP', price: 24500, rows: 10, seatsPerRow: 40 },
    ],
  },

  // Concerts
  {
    title: 'Midnight Static — Neon Tour', performer: 'Midnight Static', category: 'concert', venue: 'copper-hall',
    startsInDays: 21, startHour: 20, onSaleInDays: -30, currency: 'USD',
    sections: [
      { name: 'Floor', price: 6500, rows: 20, seatsPerRow: 30 },
      { name: 'Balcony', price: 4500, rows: 12, seatsPerRow: 25 },
      { name: 'VIP', price: 14500, rows: 5, seatsPerRow: 20 },
    ],
  },
  {
    title: 'Midnight Static — Neon Tour', performer: 'Midnight Static', category: 'concert', venue: 'cottonmill-arena',
    startsInDays: 52, startHour: 19, onSaleInDays: -30, currency: 'GBP',
    sections: [
      { name: 'Floor', price: 5500, rows: 25, seatsPerRow: 40 },
      { name: 'Lower Bowl', price: 4800, rows: 20, seatsPerRow: 30 },
      { name: 'Upper Bowl', price: 3500, rows: 25, seatsPerRow: 36 },
    ],
  },
  {
    title: 'Midnight Static — Neon Tour', performer: 'Midnight Static', category: 'concert', venue: 'spreeufer-halle',
    startsInDays: 60, startHour: 20, onSaleInDays: -30, currency: 'EUR',
    sections: [
      { name: 'Floor', price: 5900, rows: 25, seatsPerRow: 36 },
      { name: 'Balcony', price: 4900, rows: 15, seatsPerRow: 30 },
    ],
  },
  {
    title: 'Midnight Static — Neon Tour', performer: 'Midnight Static', category: 'concert', venue: 'harbourfront-arena',
    startsInDays: 95, startHour: 20, onSaleInDays: 7, currency: 'CAD',
    sections: [
      { name: 'Floor', price: 8900, rows: 25, seatsPerRow: 40 },
      { name: 'Lower Bowl', price: 7400, rows: 24, seatsPerRow: 35 },
      { name: 'Upper Bowl', price: 4900, rows: 30, seatsPerRow: 30 },
    ],
  },
  {
    title: 'Aurora Vale — Starlight Tour', performer: 'Aurora Vale', category: 'concert', venue: 'minato-bay-arena',
    startsInDays: 120, startHour: 18, onSaleInDays: -20, currency: 'JPY', maxTicketsPerUser: 4,
    sections: [
      { name: 'Arena', price: 14800, rows: 30, seatsPerRow: 40 },
      { name: 'S Seats', price: 11800, rows: 20, seatsPerRow: 30 },
      { name: 'A Seats', price: 8800, rows: 20, seatsPerRow: 25 },
    ],
  },
  {
    title: 'The Paper Lanterns — Lantern Light Tour', performer: 'The Paper Lanterns', category: 'concert', venue: 'old-quay-playhouse',
    startsInDays: 14, startHour: 20, onSaleInDays: -40, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 4500, rows: 18, seatsPerRow: 24 },
      { name: 'Circle', price: 3500, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'The Paper Lanterns — Lantern Light Tour', performer: 'The Paper Lanterns', category: 'concert', venue: 'grachtenzaal',
    startsInDays: 17, startHour: 20, onSaleInDays: -40, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 4200, rows: 16, seatsPerRow: 25 },
      { name: 'Balcony', price: 3200, rows: 8, seatsPerRow: 20 },
    ],
  },
  {
    title: 'The Paper Lanterns — Lantern Light Tour', performer: 'The Paper Lanterns', category: 'concert', venue: 'wattle-street-theatre',
    startsInDays: 140, startHour: 20, onSaleInDays: 10, currency: 'AUD',
    sections: [
      { name: 'Stalls', price: 7900, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 6900, rows: 10, seatsPerRow: 26 },
      { name: 'Upper Circle', price: 4900, rows: 8, seatsPerRow: 24 },
    ],
  },
  {
    title: 'Rosa Delgado & the Night Owls — Live Under the Stars', performer: 'Rosa Delgado & the Night Owls', category: 'concert', venue: 'sunset-ridge-amphitheatre',
    startsInDays: 33, startHour: 20, onSaleInDays: -25, currency: 'USD',
    sections: [
      { name: 'Pit', price: 11500, rows: 10, seatsPerRow: 30 },
      { name: 'Reserved', price: 6900, rows: 25, seatsPerRow: 40 },
      { name: 'Lawn', price: 3500, rows: 30, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Rosa Delgado & the Night Owls — Live Under the Stars', performer: 'Rosa Delgado & the Night Owls', category: 'concert', venue: 'bluebonnet-pavilion',
    startsInDays: 40, startHour: 20, onSaleInDays: -25, currency: 'USD',
    sections: [
      { name: 'Pit', price: 9900, rows: 10, seatsPerRow: 30 },
      { name: 'Reserved', price: 6500, rows: 20, seatsPerRow: 35 },
      { name: 'Lawn', price: 3200, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Hollow Pines — Evergreen Nights', performer: 'Hollow Pines', category: 'concert', venue: 'copper-hall',
    startsInDays: 9, startHour: 20, onSaleInDays: -50, currency: 'USD',
    sections: [
      { name: 'Floor', price: 4500, rows: 15, seatsPerRow: 30 },
      { name: 'Balcony', price: 3500, rows: 10, seatsPerRow: 25 },
    ],
  },
  {
    title: 'Symphonie fantastique', performer: 'Orchestre des Quatre Saisons', category: 'concert', venue: 'theatre-quatre-vents',
    startsInDays: 66, startHour: 20, onSaleInDays: -35, currency: 'EUR',
    sections: [
      { name: 'Parterre', price: 6800, rows: 20, seatsPerRow: 30 },
      { name: 'Balcon', price: 4200, rows: 12, seatsPerRow: 28 },
      { name: 'Loges', price: 12000, rows: 5, seatsPerRow: 12 },
    ],
  },
  {
    title: 'Juno Kapoor — Slow Burn Tour', performer: 'Juno Kapoor', category: 'concert', venue: 'yarra-bend-arena',
    startsInDays: 85, startHour: 19, onSaleInDays: -14, currency: 'AUD',
    sections: [
      { name: 'Floor', price: 12900, rows: 25, seatsPerRow: 40 },
      { name: 'Lower Bowl', price: 9900, rows: 22, seatsPerRow: 36 },
      { name: 'Upper Bowl', price: 6900, rows: 28, seatsPerRow: 36 },
    ],
  },
  {
    title: 'Juno Kapoor — Slow Burn Tour', performer: 'Juno Kapoor', category: 'concert', venue: 'harbourfront-arena',
    startsInDays: 110, startHour: 19, onSaleInDays: -14, currency: 'CAD',
    sections: [
      { name: 'Floor', price: 11900, rows: 25, seatsPerRow: 40 },
      { name: 'Lower Bowl', price: 8900, rows: 22, seatsPerRow: 36 },
    ],
  },

  // Sports
  {
    title: 'Chicago Ironhawks vs Austin Outlaws', performer: 'Chicago Ironhawks vs Austin Outlaws', category: 'sports', venue: 'lakefront-fieldhouse',
    startsInDays: 6, startHour: 19, onSaleInDays: -60, currency: 'USD',
    sections: [
      { name: 'Courtside', price: 22500, rows: 5, seatsPerRow: 20 },
      { name: 'Lower Bowl', price: 7500, rows: 25, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 3500, rows: 30, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Austin Outlaws vs Chicago Ironhawks', performer: 'Austin Outlaws vs Chicago Ironhawks', category: 'sports', venue: 'capitol-city-coliseum',
    startsInDays: 28, startHour: 19, onSaleInDays: -60, currency: 'USD',
    sections: [
      { name: 'Courtside', price: 19500, rows: 5, seatsPerRow: 20 },
      { name: 'Lower Bowl', price: 6500, rows: 25, seatsPerRow: 36 },
      { name: 'Upper Bowl', price: 2900, rows: 28, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Toronto Northstars vs Chicago Ironhawks', performer: 'Toronto Northstars vs Chicago Ironhawks', category: 'sports', venue: 'harbourfront-arena',
    startsInDays: 44, startHour: 19, onSaleInDays: -45, currency: 'CAD',
    sections: [
      { name: 'Glass Seats', price: 21500, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 8900, rows: 25, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 4500, rows: 30, seatsPerRow: 40 },
    ],
  },
  {
    title: 'New York Harbor Kings vs Toronto Northstars', performer: 'New York Harbor Kings vs Toronto Northstars', category: 'sports', venue: 'ironworks-arena',
    startsInDays: 16, startHour: 19, onSaleInDays: -40, currency: 'USD',
    sections: [
      { name: 'Glass Seats', price: 24500, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 9900, rows: 25, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 4900, rows: 30, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Manchester Millers vs London Lamplighters', performer: 'Manchester Millers vs London Lamplighters', category: 'sports', venue: 'cottonmill-arena',
    startsInDays: 12, startHour: 19, onSaleInDays: -30, currency: 'GBP',
    sections: [
      { name: 'Courtside', price: 9500, rows: 5, seatsPerRow: 24 },
      { name: 'Lower Tier', price: 3800, rows: 25, seatsPerRow: 40 },
      { name: 'Upper Tier', price: 2500, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Melbourne Southerlies vs Sydney Harbour Hawks', performer: 'Melbourne Southerlies vs Sydney Harbour Hawks', category: 'sports', venue: 'yarra-bend-arena',
    startsInDays: 30, startHour: 19, onSaleInDays: -21, currency: 'AUD',
    sections: [
      { name: 'Courtside', price: 18500, rows: 5, seatsPerRow: 20 },
      { name: 'Lower Bowl', price: 6900, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 3900, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Berlin Bären vs Amsterdam Anchors', performer: 'Berlin Bären vs Amsterdam Anchors', category: 'sports', venue: 'spreeufer-halle',
    startsInDays: 48, startHour: 18, onSaleInDays: -18, currency: 'EUR',
    sections: [
      { name: 'Courtside', price: 12000, rows: 5, seatsPerRow: 20 },
      { name: 'Unterrang', price: 4500, rows: 20, seatsPerRow: 36 },
      { name: 'Oberrang', price: 2500, rows: 20, seatsPerRow: 36 },
    ],
  },
  {
    title: 'Fight Night: Reyes vs Okafor', performer: 'Marco Reyes vs Tunde Okafor', category: 'sports', venue: 'ironworks-arena',
    startsInDays: 58, startHour: 21, onSaleInDays: -10, currency: 'USD', maxTicketsPerUser: 4,
    sections: [
      { name: 'Ringside', price: 25000, rows: 5, seatsPerRow: 20 },
      { name: 'Floor', price: 14500, rows: 15, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 8500, rows: 25, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 4500, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Tokyo Thunderbirds vs Melbourne Southerlies', performer: 'Tokyo Thunderbirds vs Melbourne Southerlies', category: 'sports', venue: 'minato-bay-arena',
    startsInDays: 130, startHour: 18, onSaleInDays: 14, currency: 'JPY',
    sections: [
      { name: 'Courtside', price: 18000, rows: 5, seatsPerRow: 24 },
      { name: 'Lower Stand', price: 7500, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Stand', price: 4000, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Masters Darts — Finals Night', performer: 'Masters Darts Tour', category: 'sports', venue: 'cottonmill-arena',
    startsInDays: 100, startHour: 19, onSaleInDays: -5, currency: 'GBP', holdDurationSeconds: 300,
    sections: [
      { name: 'Stage Tables', price: 8500, rows: 10, seatsPerRow: 20 },
      { name: 'Lower Tier', price: 4500, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Tier', price: 2900, rows: 20, seatsPerRow: 40 },
    ],
  },

  // Theatre
  {
    title: 'Hamlet', performer: 'Harbour Lights Theatre Company', category: 'theatre', venue: 'greyline-theatre',
    startsInDays: 11, startHour: 19, onSaleInDays: -55, currency: 'USD', holdDurationSeconds: 900,
    sections: [
      { name: 'Orchestra', price: 12500, rows: 20, seatsPerRow: 28 },
      { name: 'Mezzanine', price: 8900, rows: 10, seatsPerRow: 26 },
      { name: 'Balcony', price: 5500, rows: 8, seatsPerRow: 24 },
    ],
  },
  {
    title: 'Hamlet', performer: 'Harbour Lights Theatre Company', category: 'theatre', venue: 'kingsway-playhouse',
    startsInDays: 70, startHour: 19, onSaleInDays: -20, currency: 'GBP',
    sections: [
      { name: 'Stalls', price: 8500, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 6500, rows: 10, seatsPerRow: 24 },
      { name: 'Upper Circle', price: 3500, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'Hamlet', performer: 'Harbour Lights Theatre Company', category: 'theatre', venue: 'old-quay-playhouse',
    startsInDays: 150, startHour: 19, onSaleInDays: -10, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 6500, rows: 18, seatsPerRow: 24 },
      { name: 'Circle', price: 4500, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'Macbeth', performer: 'Harbour Lights Theatre Company', category: 'theatre', venue: 'wabash-playhouse',
    startsInDays: 120, startHour: 19, onSaleInDays: -3, currency: 'USD',
    sections: [
      { name: 'Orchestra', price: 9500, rows: 18, seatsPerRow: 26 },
      { name: 'Mezzanine', price: 6500, rows: 8, seatsPerRow: 24 },
    ],
  },
  {
    title: 'The Glass Orchard', performer: 'Kingsway Repertory Company', category: 'theatre', venue: 'kingsway-playhouse',
    startsInDays: 24, startHour: 19, onSaleInDays: -35, currency: 'GBP',
    sections: [
      { name: 'Stalls', price: 7500, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 5500, rows: 10, seatsPerRow: 24 },
      { name: 'Upper Circle', price: 2900, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'The Glass Orchard', performer: 'Kingsway Repertory Company', category: 'theatre', venue: 'kensington-stage',
    startsInDays: 80, startHour: 19, onSaleInDays: -12, currency: 'CAD',
    sections: [
      { name: 'Orchestra', price: 8900, rows: 16, seatsPerRow: 24 },
      { name: 'Balcony', price: 5900, rows: 8, seatsPerRow: 22 },
    ],
  },
  {
    title: "A Midsummer Night's Dream", performer: 'Southern Cross Shakespeare Company', category: 'theatre', venue: 'wattle-street-theatre',
    startsInDays: 35, startHour: 19, onSaleInDays: -28, currency: 'AUD',
    sections: [
      { name: 'Stalls', price: 8900, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 6900, rows: 10, seatsPerRow: 26 },
      { name: 'Upper Circle', price: 4500, rows: 8, seatsPerRow: 24 },
    ],
  },
  {
    title: "The Lighthouse Keeper's Daughter", performer: 'Greyline Musical Ensemble', category: 'theatre', venue: 'greyline-theatre',
    startsInDays: 90, startHour: 19, onSaleInDays: -6, currency: 'USD',
    sections: [
      { name: 'Premium Orchestra', price: 18500, rows: 5, seatsPerRow: 28 },
      { name: 'Orchestra', price: 13500, rows: 15, seatsPerRow: 28 },
      { name: 'Mezzanine', price: 9500, rows: 10, seatsPerRow: 26 },
      { name: 'Balcony', price: 5900, rows: 8, seatsPerRow: 24 },
    ],
  },
  {
    title: 'Le Misanthrope', performer: 'Compagnie des Quatre Vents', category: 'theatre', venue: 'theatre-quatre-vents',
    startsInDays: 26, startHour: 20, onSaleInDays: -22, currency: 'EUR',
    sections: [
      { name: 'Parterre', price: 5500, rows: 20, seatsPerRow: 30 },
      { name: 'Balcon', price: 3500, rows: 12, seatsPerRow: 28 },
    ],
  },
  {
    title: 'Woyzeck', performer: 'Ensemble Spreeufer', category: 'theatre', venue: 'spreeufer-halle',
    startsInDays: 55, startHour: 19, onSaleInDays: -15, currency: 'EUR',
    sections: [
      { name: 'Parkett', price: 4900, rows: 16, seatsPerRow: 26 },
      { name: 'Rang', price: 3200, rows: 8, seatsPerRow: 24 },
    ],
  },

  // Comedy
  {
    title: 'Dara Whelan: Overthinking It', performer: 'Dara Whelan', category: 'comedy', venue: 'old-quay-playhouse',
    startsInDays: 8, startHour: 20, onSaleInDays: -33, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 3500, rows: 15, seatsPerRow: 24 },
      { name: 'Circle', price: 2800, rows: 8, seatsPerRow: 20 },
    ],
  },
  {
    title: 'Dara Whelan: Overthinking It', performer: 'Dara Whelan', category: 'comedy', venue: 'kingsway-playhouse',
    startsInDays: 19, startHour: 20, onSaleInDays: -33, currency: 'GBP',
    sections: [
      { name: 'Stalls', price: 3800, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 3200, rows: 10, seatsPerRow: 24 },
      { name: 'Upper Circle', price: 2500, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'Dara Whelan: Overthinking It', performer: 'Dara Whelan', category: 'comedy', venue: 'greyline-theatre',
    startsInDays: 46, startHour: 20, onSaleInDays: -33, currency: 'USD',
    sections: [
      { name: 'Orchestra', price: 5500, rows: 20, seatsPerRow: 28 },
      { name: 'Mezzanine', price: 4500, rows: 10, seatsPerRow: 26 },
    ],
  },
  {
    title: 'Marcus Bell — Unfiltered', performer: 'Marcus Bell', category: 'comedy', venue: 'copper-hall',
    startsInDays: 23, startHour: 21, onSaleInDays: -18, currency: 'USD',
    sections: [
      { name: 'Floor', price: 5900, rows: 15, seatsPerRow: 30 },
      { name: 'Balcony', price: 3900, rows: 10, seatsPerRow: 25 },
    ],
  },
  {
    title: 'Marcus Bell — Unfiltered', performer: 'Marcus Bell', category: 'comedy', venue: 'sunset-ridge-amphitheatre',
    startsInDays: 62, startHour: 20, onSaleInDays: -18, currency: 'USD',
    sections: [
      { name: 'Pit', price: 8900, rows: 10, seatsPerRow: 30 },
      { name: 'Reserved', price: 5500, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Late Laughs Showcase', performer: 'Late Laughs Collective', category: 'comedy', venue: 'grachtenzaal',
    startsInDays: 13, startHour: 21, onSaleInDays: -9, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 2500, rows: 16, seatsPerRow: 25 },
      { name: 'Balcony', price: 2500, rows: 8, seatsPerRow: 20 },
    ],
  },
  {
    title: 'Nikki Sato — Small Talk', performer: 'Nikki Sato', category: 'comedy', venue: 'wattle-street-theatre',
    startsInDays: 42, startHour: 20, onSaleInDays: -26, currency: 'AUD',
    sections: [
      { name: 'Stalls', price: 5900, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 4900, rows: 10, seatsPerRow: 26 },
    ],
  },
  {
    title: 'Nikki Sato — Small Talk', performer: 'Nikki Sato', category: 'comedy', venue: 'yarra-bend-arena',
    startsInDays: 45, startHour: 20, onSaleInDays: -26, currency: 'AUD',
    sections: [
      { name: 'Floor', price: 6900, rows: 20, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 5500, rows: 15, seatsPerRow: 36 },
      { name: 'Upper Bowl', price: 3900, rows: 12, seatsPerRow: 36 },
    ],
  },
  {
    title: 'Fenwick & Marsh Live', performer: 'Fenwick & Marsh', category: 'comedy', venue: 'cottonmill-arena',
    startsInDays: 76, startHour: 20, onSaleInDays: 5, currency: 'GBP',
    sections: [
      { name: 'Lower Tier', price: 4500, rows: 20, seatsPerRow: 36 },
      { name: 'Upper Tier', price: 3200, rows: 20, seatsPerRow: 36 },
    ],
  },

  // Festivals
  {
    title: 'Heathmoor Summer Festival', performer: 'Hollow Pines', category: 'festival', venue: 'heathmoor-park',
    startsInDays: 160, startHour: 17, onSaleInDays: -60, currency: 'GBP', maxTicketsPerUser: 10,
    sections: [
      { name: 'General Admission', price: 8900, rows: 30, seatsPerRow: 40 },
      { name: 'Weekend Camping', price: 16500, rows: 25, seatsPerRow: 40 },
      { name: 'VIP Village', price: 24500, rows: 10, seatsPerRow: 30 },
    ],
  },
  {
    title: 'Sunset Ridge Folk & Blues Festival', performer: 'Hollow Pines', category: 'festival', venue: 'sunset-ridge-amphitheatre',
    startsInDays: 190, startHour: 17, onSaleInDays: -30, currency: 'USD', maxTicketsPerUser: 10,
    sections: [
      { name: 'Reserved', price: 9900, rows: 25, seatsPerRow: 40 },
      { name: 'Lawn', price: 5500, rows: 30, seatsPerRow: 40 },
      { name: 'Backstage Pass', price: 22500, rows: 5, seatsPerRow: 20 },
    ],
  },
  {
    title: 'Bluebonnet Roots Festival', performer: 'Rosa Delgado & the Night Owls', category: 'festival', venue: 'bluebonnet-pavilion',
    startsInDays: 180, startHour: 17, onSaleInDays: -40, currency: 'USD',
    sections: [
      { name: 'Reserved', price: 8500, rows: 20, seatsPerRow: 35 },
      { name: 'Lawn', price: 4500, rows: 25, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Grachten Jazz Weekend', performer: 'Iris van Dam Quartet', category: 'festival', venue: 'grachtenzaal',
    startsInDays: 135, startHour: 18, onSaleInDays: -20, currency: 'EUR',
    sections: [
      { name: 'Day Pass', price: 4500, rows: 16, seatsPerRow: 25 },
      { name: 'Weekend Pass', price: 11500, rows: 8, seatsPerRow: 20 },
    ],
  },
  {
    title: 'Lichterfest Berlin', performer: 'DJ Kestrel', category: 'festival', venue: 'spreeufer-halle',
    startsInDays: 210, startHour: 21, onSaleInDays: -7, currency: 'EUR',
    sections: [
      { name: 'Early Entry', price: 6900, rows: 20, seatsPerRow: 40 },
      { name: 'General Admission', price: 5500, rows: 25, seatsPerRow: 40 },
      { name: 'VIP Terrace', price: 14500, rows: 5, seatsPerRow: 30 },
    ],
  },
  {
    title: 'Harbourfront Winter Lights Festival', performer: 'Juno Kapoor', category: 'festival', venue: 'harbourfront-arena',
    startsInDays: 240, startHour: 18, onSaleInDays: -2, currency: 'CAD',
    sections: [
      { name: 'Floor', price: 9900, rows: 25, seatsPerRow: 40 },
      { name: 'Lower Bowl', price: 7500, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 4900, rows: 20, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Festival des Quatre Vents', performer: 'Orchestre des Quatre Saisons', category: 'festival', venue: 'theatre-quatre-vents',
    startsInDays: 250, startHour: 19, onSaleInDays: 20, currency: 'EUR',
    sections: [
      { name: 'Pass Journée', price: 3900, rows: 20, seatsPerRow: 30 },
      { name: 'Pass Festival', price: 11900, rows: 12, seatsPerRow: 28 },
    ],
  },

  // Family
  {
    title: 'Family Circus Spectacular', performer: 'Cirque Lumina', category: 'family', venue: 'ironworks-arena',
    startsInDays: 27, startHour: 17, onSaleInDays: -50, currency: 'USD',
    sections: [
      { name: 'Ringside', price: 8900, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 5500, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 3500, rows: 20, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Family Circus Spectacular', performer: 'Cirque Lumina', category: 'family', venue: 'lakefront-fieldhouse',
    startsInDays: 34, startHour: 17, onSaleInDays: -50, currency: 'USD',
    sections: [
      { name: 'Ringside', price: 7900, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 4900, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 2900, rows: 20, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Family Circus Spectacular', performer: 'Cirque Lumina', category: 'family', venue: 'yarra-bend-arena',
    startsInDays: 170, startHour: 17, onSaleInDays: -8, currency: 'AUD',
    sections: [
      { name: 'Ringside', price: 9900, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 6500, rows: 20, seatsPerRow: 40 },
      { name: 'Upper Bowl', price: 4500, rows: 20, seatsPerRow: 40 },
    ],
  },
  {
    title: 'Dinosaur Discovery Live', performer: 'Roaring Earth Productions', category: 'family', venue: 'capitol-city-coliseum',
    startsInDays: 20, startHour: 17, onSaleInDays: -45, currency: 'USD', maxTicketsPerUser: 10,
    sections: [
      { name: 'Front Rows', price: 6500, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 4500, rows: 20, seatsPerRow: 36 },
      { name: 'Upper Bowl', price: 2900, rows: 20, seatsPerRow: 36 },
    ],
  },
  {
    title: 'Dinosaur Discovery Live', performer: 'Roaring Earth Productions', category: 'family', venue: 'harbourfront-arena',
    startsInDays: 64, startHour: 17, onSaleInDays: -45, currency: 'CAD', maxTicketsPerUser: 10,
    sections: [
      { name: 'Front Rows', price: 7500, rows: 5, seatsPerRow: 30 },
      { name: 'Lower Bowl', price: 5500, rows: 20, seatsPerRow: 36 },
      { name: 'Upper Bowl', price: 3500, rows: 20, seatsPerRow: 36 },
    ],
  },
  {
    title: 'The Snow Queen on Ice', performer: 'Polar Star Ice Theatre', category: 'family', venue: 'minato-bay-arena',
    startsInDays: 100, startHour: 17, onSaleInDays: -17, currency: 'JPY',
    sections: [
      { name: 'SS Seats', price: 9800, rows: 5, seatsPerRow: 30 },
      { name: 'S Seats', price: 7800, rows: 20, seatsPerRow: 40 },
      { name: 'A Seats', price: 5500, rows: 20, seatsPerRow: 40 },
    ],
  },
  {
    title: 'The Little Lighthouse — A Puppet Adventure', performer: 'Tin Moon Puppet Company', category: 'family', venue: 'wattle-street-theatre',
    startsInDays: 5, startHour: 17, onSaleInDays: -24, currency: 'AUD',
    sections: [
      { name: 'Stalls', price: 3500, rows: 20, seatsPerRow: 28 },
      { name: 'Dress Circle', price: 2900, rows: 10, seatsPerRow: 26 },
    ],
  },
  {
    title: 'The Little Lighthouse — A Puppet Adventure', performer: 'Tin Moon Puppet Company', category: 'family', venue: 'old-quay-playhouse',
    startsInDays: 39, startHour: 17, onSaleInDays: -24, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 2800, rows: 18, seatsPerRow: 24 },
      { name: 'Circle', price: 2500, rows: 10, seatsPerRow: 22 },
    ],
  },
  {
    title: 'Peter and the Wolf — A Family Concert', performer: 'Keizersgracht Youth Orchestra', category: 'family', venue: 'grachtenzaal',
    startsInDays: 29, startHour: 17, onSaleInDays: -11, currency: 'EUR',
    sections: [
      { name: 'Stalls', price: 2500, rows: 16, seatsPerRow: 25 },
      { name: 'Balcony', price: 2500, rows: 8, seatsPerRow: 20 },
    ],
  },
];
