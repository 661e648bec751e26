// @pfm/hl7: HL7 v2 ADT -> canonical flow events, and the ACKs that answer them.
// Pure (no sockets, no Kafka, no clock unless an ACK needs "now").
export { mapAdt, MAPPED_TRIGGERS, NHS_NUMBER_OID, NON_BED_PATIENT_CLASSES } from './map-adt';
export type { AckCode, MapContext, MapFail, MapOk, MapResult, MappedTrigger } from './map-adt';
export { buildAck, buildAckMessage, newControlId, DEFAULT_ACK_VERSION } from './ack';
export type { AckOptions } from './ack';
export { applicationError, HL7_ERROR_CODES, hl7Path } from './issues';
export type { Hl7ErrorCode, Hl7Issue } from './issues';
export { parseHl7, MAX_MESSAGE_CHARS, Seg } from './parse';
export type { ParsedHl7, ParseResult } from './parse';
export { parseDtm, formatDtm, localToEpochMs, zoneOffsetMs, DEFAULT_TIME_ZONE } from './dtm';
export type { Dtm, DtmPrecision } from './dtm';
export { escapeHl7, unescapeHl7, DEFAULT_DELIMITERS } from './encoding';
export type { Delimiters } from './encoding';
export { AGE_BANDS, ageBandOf, initialsOf } from './demographics';
export type { AgeBand } from './demographics';
export { encodeAdt, isAdtEvent, formatDtmMs, ADT_TRIGGERS } from './encode';
export type { AdtContext, AdtEvent, AdtEventType, EncodeOptions } from './encode';
export { ZMH_FIELDS } from './zmh';
