/**
 * Evidence details (title, description, tags): the crypto is in shared/crypto/details.ts (the
 * court package carries and checks them too). Each edit is a new version on the server; older
 * versions are kept, and the original file and manifest are never touched.
 */
export { decryptDetails, decryptDetailsFromCase, encryptDetails, encryptDetailsToCase, EvidenceDetails, DETAILS_TYP, Marker, MAX_MARKERS } from "../../../shared/crypto/details";
