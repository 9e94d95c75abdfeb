/**
 * RFC 3161 trusted timestamps (docs/evidence-format.md §9), with pkijs on WebCrypto: build a
 * TimeStampReq, check a TimeStampResp, and verify a stored token offline. Runs unchanged in the
 * worker (Workers and Deno), the browser and Node. Outside shared/crypto on purpose: that folder
 * is WebCrypto + jose only, and ASN.1/CMS needs a PKI library.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

/** OID of SHA-512 (NIST), the messageImprint hash Custody asks for. */
export const SHA512_OID = "2.16.840.1.101.3.4.2.3";
/** extendedKeyUsage id-kp-timeStamping (RFC 3161 §2.3): the only use a TSA certificate may have. */
const TIME_STAMPING_EKU = "1.3.6.1.5.5.7.3.8";

/** Why a reply or token was refused; `what` is short and stable, `message` says more. */
export class TimestampError extends Error {
  override name = "TimestampError";
  constructor(
    readonly what: "reply" | "status" | "token" | "imprint" | "nonce" | "signature" | "certificate" | "chain",
    message: string,
  ) {
    super(message);
  }
}

/** What a verified token says. */
export interface TimestampInfo {
  /** The TSA's genTime (ISO 8601 UTC, millisecond precision when the TSA gives it). */
  genTime: string;
  /** serialNumber, hex. */
  serial: string;
  /** The TSA policy OID. */
  policy: string;
  /** Subject of the certificate that signed the token, as "O=…, CN=…". */
  tsaName: string;
  /** True when the signing certificate chains to one of the trusted certificates given. */
  chainVerified: boolean;
  /** The token's certificates (the TSA's, and any the TSA added), PEM, signer first. */
  certificatesPem: string[];
}

const buffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;
const hex = (bytes: ArrayBuffer | Uint8Array): string => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

const NAMES: Record<string, string> = { "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU" };

/** An X.500 name as "O=…, CN=…" in the certificate's own order. */
function nameOf(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues.map((tv) => `${NAMES[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`).join(", ");
}

/** DER certificate to PEM text (64-column base64). */
export function certificateToPem(der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  return `-----BEGIN CERTIFICATE-----\n${(btoa(binary).match(/.{1,64}/g) ?? []).join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Every certificate in PEM text (one or more BEGIN CERTIFICATE blocks), parsed; throws TimestampError("certificate"). */
export function parseCertificatesPem(pem: string): pkijs.Certificate[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new TimestampError("certificate", "no PEM certificate found");
  return blocks.map((block) => {
    try {
      return pkijs.Certificate.fromBER(Uint8Array.from(atob(block[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
    } catch {
      throw new TimestampError("certificate", "a PEM block is not an X.509 certificate");
    }
  });
}

/** The SHA-256 fingerprint (hex, colon-separated upper case, as `openssl x509 -fingerprint -sha256`) of a certificate. */
export async function certificateFingerprint(certificate: pkijs.Certificate): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", certificate.toSchema().toBER());
  return hex(digest).toUpperCase().match(/../g)!.join(":");
}

/** Subject name of the first certificate in `pem` ("O=…, CN=…"). */
export function certificateSubject(pem: string): string {
  return nameOf(parseCertificatesPem(pem)[0]!.subject);
}

/**
 * A TimeStampReq (DER) over `data`: version 1, messageImprint = SHA-512 of `data`, a random
 * 64-bit nonce (hex, returned, to check the reply against), certReq TRUE, no policy.
 */
export async function timestampRequest(data: Uint8Array): Promise<{ der: Uint8Array; nonce: string }> {
  const digest = await crypto.subtle.digest("SHA-512", buffer(data));
  const nonce = crypto.getRandomValues(new Uint8Array(8));
  nonce[0] = (nonce[0]! & 0x7f) | 0x01; // positive, and never a leading zero byte: the DER INTEGER is exactly these 8 bytes
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA512_OID }),
      hashedMessage: new asn1js.OctetString({ valueHex: digest }),
    }),
    nonce: new asn1js.Integer({ valueHex: buffer(nonce) }),
    certReq: true,
  });
  return { der: new Uint8Array(request.toSchema().toBER()), nonce: hex(nonce) };
}

/**
 * Check a TimeStampResp (DER) for a request made by `timestampRequest` over `data` with
 * `nonce`: status granted (0) or grantedWithMods (1), a token whose imprint is SHA-512 of
 * `data`, the same nonce, and a valid signature (chained to `trustedPem` when given).
 * Returns the token (the ContentInfo DER, what is stored) and what it says.
 */
export async function readTimestampReply(reply: Uint8Array, data: Uint8Array, nonce: string, trustedPem?: string | null): Promise<{ token: Uint8Array; info: TimestampInfo }> {
  let response: pkijs.TimeStampResp;
  try {
    response = pkijs.TimeStampResp.fromBER(buffer(reply));
  } catch {
    throw new TimestampError("reply", "the answer is not a TimeStampResp");
  }
  const status = response.status.status;
  if (status !== 0 && status !== 1) {
    const text = response.status.statusStrings?.map((s) => String(s.valueBlock.value)).join("; ");
    throw new TimestampError("status", `the TSA refused (status ${status}${text ? `: ${text}` : ""})`);
  }
  if (!response.timeStampToken) throw new TimestampError("token", "the TSA granted but sent no token");
  const token = new Uint8Array(response.timeStampToken.toSchema().toBER());
  const info = await verifyTimestampToken(token, data, { trustedPem, nonce });
  return { token, info };
}

/**
 * Verify a stored token (a CMS ContentInfo holding SignedData over TSTInfo, DER) over `data`:
 * SHA-512 imprint, the nonce if given, the CMS signature by a certificate in the token whose
 * extendedKeyUsage is timeStamping, and, when `trustedPem` is given, that certificate's chain
 * to one of those certificates at genTime. Throws TimestampError.
 */
export async function verifyTimestampToken(token: Uint8Array, data: Uint8Array, options: { trustedPem?: string | null; nonce?: string } = {}): Promise<TimestampInfo> {
  let signed: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  try {
    const info = pkijs.ContentInfo.fromBER(buffer(token));
    if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error("not SignedData");
    signed = new pkijs.SignedData({ schema: info.content });
    if (signed.encapContentInfo.eContentType !== pkijs.id_eContentType_TSTInfo || !signed.encapContentInfo.eContent) throw new Error("not a TSTInfo");
    tst = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
  } catch {
    throw new TimestampError("token", "not an RFC 3161 timestamp token");
  }
  if (token.length !== info_length(token)) throw new TimestampError("token", "bytes after the token");
  if (tst.messageImprint.hashAlgorithm.algorithmId !== SHA512_OID) throw new TimestampError("imprint", "the token's imprint is not SHA-512");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", buffer(data)));
  const imprint = tst.messageImprint.hashedMessage.valueBlock.valueHexView;
  if (imprint.length !== digest.length || !imprint.every((b, i) => b === digest[i])) throw new TimestampError("imprint", "the token is over other data");
  if (options.nonce !== undefined && (!tst.nonce || hex(tst.nonce.valueBlock.valueHexView).replace(/^(00)+/, "") !== options.nonce.replace(/^(00)+/, ""))) {
    throw new TimestampError("nonce", "the token answers another request (nonce differs)");
  }
  const certificates = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const trusted = options.trustedPem ? parseCertificatesPem(options.trustedPem) : [];
  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await signed.verify({ signer: 0, data: buffer(data), checkChain: trusted.length > 0, trustedCerts: trusted, extendedMode: true });
  } catch (error) {
    const code = (error as { code?: number }).code;
    const message = (error as { message?: string }).message ?? String(error);
    if (code === 5) throw new TimestampError("chain", `the TSA certificate does not chain to the trusted certificate: ${message}`);
    if (code === 3) throw new TimestampError("certificate", "the token does not hold the TSA's certificate (certReq)");
    throw new TimestampError("signature", `the token's signature does not verify: ${message}`);
  }
  if (!result.signatureVerified) throw new TimestampError("signature", "the token's signature does not verify");
  const signer = result.signerCertificate!;
  const eku = signer.extensions?.find((e) => e.extnID === pkijs.id_ExtKeyUsage);
  if (!eku || !eku.critical || !(eku.parsedValue as pkijs.ExtKeyUsage).keyPurposes.includes(TIME_STAMPING_EKU)) {
    throw new TimestampError("certificate", "the signing certificate is not a TSA certificate (critical extendedKeyUsage timeStamping)");
  }
  // A trust anchor that signs itself must carry a valid self-signature: a changed byte in it is a different CA.
  for (const anchor of trusted) {
    if (nameOf(anchor.subject) === nameOf(anchor.issuer) && !(await anchor.verify())) throw new TimestampError("chain", "the trusted CA certificate's self-signature does not verify");
  }
  // The parts of a token nobody signed (its certificate set, digestAlgorithms, the encoding) must
  // still be exactly what a TSA writes: DER, every certificate on the verified path, nothing else.
  const der = (o: { toSchema(): { toBER(): ArrayBuffer } }) => hex(o.toSchema().toBER());
  const path = new Set([signer, ...(result.certificatePath ?? []), ...trusted].map(der));
  if (trusted.length > 0 && certificates.some((c) => !path.has(der(c)))) throw new TimestampError("certificate", "the token carries a certificate that is not on its verified path");
  const signerInfo = signed.signerInfos[0]!;
  if (signed.signerInfos.length !== 1 || signerInfo.unsignedAttrs) throw new TimestampError("token", "a timestamp token has exactly one signer and no unsigned attributes");
  if (signed.digestAlgorithms.length !== 1 || der(signed.digestAlgorithms[0]!) !== der(signerInfo.digestAlgorithm)) throw new TimestampError("token", "digestAlgorithms does not match the signer's");
  if (hex(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) }).toSchema().toBER()) !== hex(token)) {
    throw new TimestampError("token", "the token is not in DER");
  }
  checkStrictEncoding(token, certificates);
  const others = certificates.filter((c) => c !== signer);
  return {
    genTime: tst.genTime.toISOString(),
    serial: hex(tst.serialNumber.valueBlock.valueHexView),
    policy: tst.policy,
    tsaName: nameOf(signer.subject),
    chainVerified: trusted.length > 0,
    certificatesPem: [signer, ...others].map((c) => certificateToPem(new Uint8Array(c.toSchema().toBER()))),
  };
}

/** True if `der` is exactly a DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }, both minimal and positive. */
function isStrictEcdsaSignature(der: Uint8Array): boolean {
  let at = 0;
  const length = (): number => {
    const first = der[at++]!;
    if (first < 0x80) return first;
    if (first !== 0x81) return -1;
    const n = der[at++]!;
    return n < 0x80 ? -1 : n;
  };
  if (der[at++] !== 0x30) return false;
  const total = length();
  if (total < 0 || at + total !== der.length) return false;
  for (let i = 0; i < 2; i++) {
    if (der[at++] !== 0x02) return false;
    const n = length();
    if (n <= 0 || at + n > der.length) return false;
    if (der[at]! & 0x80) return false; // negative
    if (n > 1 && der[at] === 0 && !(der[at + 1]! & 0x80)) return false; // not minimal
    at += n;
  }
  return at === der.length;
}

const ECDSA_OIDS = new Set(["1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"]);

/**
 * What pkijs reads leniently but a TSA never writes: the signer identifier must be an
 * IssuerAndSerialNumber SEQUENCE or a [0] key id, and every ECDSA signature (the token's and the
 * certificates') strict DER with no unused bits. So no byte of a token can change unnoticed.
 */
function checkStrictEncoding(token: Uint8Array, certificates: pkijs.Certificate[]): void {
  const fail = (): never => {
    throw new TimestampError("token", "the token is not in DER");
  };
  const parsed = asn1js.fromBER(buffer(token));
  if (parsed.offset === -1) fail();
  const children = (block: asn1js.AsnType): asn1js.AsnType[] => ((block as asn1js.Constructed).valueBlock?.value as asn1js.AsnType[] | undefined) ?? [];
  const signedData = children(children(parsed.result)[1]!)[0]!;
  const signerInfo = children(children(signedData).at(-1)!)[0]!;
  const [, sid, digest, ...rest] = children(signerInfo);
  const id = (sid as asn1js.BaseBlock).idBlock;
  const byIssuer = id.tagClass === 1 && id.tagNumber === 16 && id.isConstructed;
  if (!byIssuer && !(id.tagClass === 3 && id.tagNumber === 0 && !id.isConstructed)) fail();
  // RFC 5652 §5.3: version 1 with an IssuerAndSerialNumber, 3 with a key id; §5.1: SignedData version 3 (eContentType is not id-data).
  const version = (block: asn1js.AsnType | undefined) => (block instanceof asn1js.Integer ? block.valueBlock.valueDec : -1);
  if (version(children(signerInfo)[0]) !== (byIssuer ? 1 : 3) || version(children(signedData)[0]) !== 3) fail();
  void digest;
  const signature = rest.find((b) => b instanceof asn1js.OctetString) as asn1js.OctetString | undefined;
  const signatureAlgorithm = rest.find((b) => b instanceof asn1js.Sequence) as asn1js.Sequence | undefined;
  const algorithmOid = signatureAlgorithm ? String((signatureAlgorithm.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString()) : "";
  if (!signature || (ECDSA_OIDS.has(algorithmOid) && !isStrictEcdsaSignature(signature.valueBlock.valueHexView))) fail();
  for (const certificate of certificates) {
    const value = certificate.signatureValue;
    if (value.valueBlock.unusedBits !== 0) fail();
    if (ECDSA_OIDS.has(certificate.signatureAlgorithm.algorithmId) && !isStrictEcdsaSignature(value.valueBlock.valueHexView)) fail();
  }
}

/** Length of the outermost DER TLV at the start of `der` (so trailing bytes can be refused). */
function info_length(der: Uint8Array): number {
  if (der.length < 2) return -1;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + der[2 + i]!;
  return 2 + n + length;
}

/**
 * The token as a minimal TimeStampResp (DER): SEQUENCE { PKIStatusInfo { status granted(0) },
 * token }, the `.tsr` form `openssl ts -verify -in` reads.
 */
export function tokenToResponse(token: Uint8Array): Uint8Array {
  const status = [0x30, 0x03, 0x02, 0x01, 0x00];
  const length = status.length + token.length;
  const lengthBytes = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : length < 0x10000 ? [0x82, length >> 8, length & 0xff] : [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  const out = new Uint8Array(1 + lengthBytes.length + length);
  out.set([0x30, ...lengthBytes, ...status]);
  out.set(token, 1 + lengthBytes.length + status.length);
  return out;
}

/** The token out of a `.tsr` written by `tokenToResponse` (exactly that form, else TimestampError("token")). */
export function responseToToken(response: Uint8Array): Uint8Array {
  const header = response[1]! < 0x80 ? 2 : 2 + (response[1]! & 0x7f);
  const token = response.subarray(header + 5);
  if (response[0] !== 0x30 || !tokenToResponse(token).every((b, i) => b === response[i]) || tokenToResponse(token).length !== response.length) {
    throw new TimestampError("token", "not a granted TimeStampResp in the form Custody writes");
  }
  return token;
}
