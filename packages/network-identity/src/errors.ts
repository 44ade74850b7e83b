import { errors as baseErrors } from '@node-network/network-interface';

class ErrorIdentity<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Identity error';
}

class ErrorKeyInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Key is malformed';
}

class ErrorNodeIdInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'NodeId is malformed';
}

class ErrorNetworkIdInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Network id is malformed';
}

/** A membership claim failed to decode. */
class ErrorClaimMalformed<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Membership claim is malformed';
}

/** A membership claim decoded but does not admit the node. */
class ErrorMembershipClaim<T> extends ErrorIdentity<T> {
  static description = 'Membership claim does not admit the node';
}

class ErrorMembershipClaimMissing<T> extends ErrorMembershipClaim<T> {
  static description = 'A private network requires a membership claim';
}

class ErrorClaimSignatureInvalid<T> extends ErrorMembershipClaim<T> {
  static description = "Membership claim is not signed by the network's authority";
}

class ErrorClaimExpired<T> extends ErrorMembershipClaim<T> {
  static description = 'Membership claim has expired';
}

class ErrorClaimNotYetValid<T> extends ErrorMembershipClaim<T> {
  static description = 'Membership claim is not valid yet';
}

class ErrorClaimWrongNetwork<T> extends ErrorMembershipClaim<T> {
  static description = 'Membership claim is for another network';
}

class ErrorClaimWrongNode<T> extends ErrorMembershipClaim<T> {
  static description = 'Membership claim is for another node';
}

/** A certificate or chain was refused. */
class ErrorCertificate<T> extends ErrorIdentity<T> {
  static description = 'Certificate was refused';
}

class ErrorCertificateMalformed<T> extends ErrorCertificate<T> {
  static description = 'Certificate is malformed';
}

class ErrorCertificateChainInvalid<T> extends ErrorCertificate<T> {
  static description = 'Certificate chain is broken';
}

class ErrorCertificateSignatureInvalid<T> extends ErrorCertificate<T> {
  static description = 'Certificate signature is invalid';
}

class ErrorCertificateNodeSignatureInvalid<T> extends ErrorCertificate<T> {
  static description = 'Certificate node-signature extension is missing or invalid';
}

class ErrorCertificateExpired<T> extends ErrorCertificate<T> {
  static description = 'Certificate has expired or is not valid yet';
}

/** The certificate names a NodeId that is not its own public key. */
class ErrorCertificateKeyMismatch<T> extends ErrorCertificate<T> {
  static description = 'Certificate names a NodeId other than its own key';
}

/** The peer is a valid node, but not the one we expected. */
class ErrorCertificateNodeIdMismatch<T> extends ErrorCertificate<T> {
  static description = 'Peer is not the expected node';
}

/** The peer belongs to another network. */
class ErrorNetworkMismatch<T> extends ErrorCertificate<T> {
  static description = 'Peer belongs to another network';
}

export {
  ErrorIdentity,
  ErrorKeyInvalid,
  ErrorNodeIdInvalid,
  ErrorNetworkIdInvalid,
  ErrorClaimMalformed,
  ErrorMembershipClaim,
  ErrorMembershipClaimMissing,
  ErrorClaimSignatureInvalid,
  ErrorClaimExpired,
  ErrorClaimNotYetValid,
  ErrorClaimWrongNetwork,
  ErrorClaimWrongNode,
  ErrorCertificate,
  ErrorCertificateMalformed,
  ErrorCertificateChainInvalid,
  ErrorCertificateSignatureInvalid,
  ErrorCertificateNodeSignatureInvalid,
  ErrorCertificateExpired,
  ErrorCertificateKeyMismatch,
  ErrorCertificateNodeIdMismatch,
  ErrorNetworkMismatch,
};
