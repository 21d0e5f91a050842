// The Connect certificate authority: keys, X.509 templates (roots, intermediates, SPIFFE leaves)
// encoded with node-forge's ASN.1 and signed with node:crypto; configuration, rotation, leaves.
export { generateKeyPair, generateKeyPairAsync, buildCertificate, buildCertificateAsync, keyIdentifier, keyBits, randomSerial, colonHex, type KeyPair, type PrivateKeyType, type CertificateTemplate, type KeyUsage } from './x509.js';
export { buildCsr, parseCsr, validateIntermediateCsr, intermediateCommonName, type ParsedCsr, type IntermediateCsrPolicy } from './csr.js';
export { createKeyStore, readPassphraseFile, type KeyStore } from './key-store.js';
export { rootTemplate, intermediateTemplate, leafTemplate, crossSignTemplate, validateServiceName, DEFAULT_TTLS, LEAF_BACKDATE_MS } from './templates.js';
export { createRoot, decideRootCreation, certificateFingerprint, numericSerial, rootKeyName, nextRootName, crossSignRoot, type NewRoot } from './root.js';
export { createCertificateAuthority, type CertificateAuthority, type CaStatus, type Signer, type CaView, type CertificateAuthorityDeps } from './authority.js';
export { createLeafSigner, type LeafSigner, type LeafCertificate } from './leaf-signer.js';
export { parseCaConfigurationBody, validateCaConfig, caTtls, needsRotation, sameConfig, toConsulCaConfiguration, type CaConfigurationRequest, type CaTtls } from './config.js';
