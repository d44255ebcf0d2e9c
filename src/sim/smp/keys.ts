/**
 * MCUboot's public development key root-ec-p256 (the public half only). It
 * signs the images in the shared SMP transcripts and is what most evaluation
 * builds of MCUboot trust, so it is the simulators' default device key. It
 * was recovered from an image signature and matches the image's key-hash TLV
 * (e30466f6...38b6).
 */
export const MCUBOOT_DEV_KEY_P256 = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKstAPOj+7VukSZWhqR2u6Nu+GTfN
FPsvJFc35ZU5iNmUudZa69fN1TCK1v5IskpqgQ7l8H2LaDTMOmr8U476wQ==
-----END PUBLIC KEY-----
`;
