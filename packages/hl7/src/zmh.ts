// ZMH: this product's local Z segment (HL7 v2 lets each site define Z segments) for what
// the standard ADT segments have no field for but a mental-health PAS records per spell.
// Written by encode.ts, read by map-adt.ts (A01: 1-6; A02: 2-3; A08: 1; A21: 7). Every field optional.
//   ZMH-1 Mental Health Act legal status classification (NHS Data Dictionary code, e.g. 01 informal, 02 s2, 03 s3)
//   ZMH-2 out-of-area placement (Y / N)       ZMH-3 out-of-area placement reason (text, <= 120)
//   ZMH-4 distance from home, km (decimal)    ZMH-5 catchment area code
//   ZMH-6 referral id that led to the spell    ZMH-7 leave type (A21, e.g. S17 for section 17 leave, HOME)
export const ZMH_FIELDS = { legalStatus: 1, outOfArea: 2, oapReason: 3, distanceFromHomeKm: 4, area: 5, referralId: 6, leaveType: 7 } as const;
