import { InvalidRequestError, UpstreamError, type ProviderId } from '@switchyard/core';
import type { WireFormat } from '../../canonical/types.js';
import type { UpstreamOperation } from '../../provider-adapter.js';

/** prepare() was asked for an operation the provider does not serve (callers check `supports()` first). */
export function unsupportedOperation(
  provider: ProviderId,
  operation: UpstreamOperation,
): InvalidRequestError {
  return new InvalidRequestError(`The ${provider} provider does not serve the '${operation}' operation.`, {
    code: 'unsupported_operation',
  });
}

/** prepare() got a body in a wire format this provider does not take. */
export function unsupportedFormat(provider: ProviderId, format: WireFormat): InvalidRequestError {
  return new InvalidRequestError(`The ${provider} provider does not take '${format}' request bodies.`, {
    code: 'unsupported_format',
  });
}

/**
 * The account's credential is not in the form the provider's CredentialKind describes. The message
 * names the expected form, never the credential; retryable, since another account may be fine.
 */
export function invalidCredential(provider: ProviderId, expected: string): UpstreamError {
  return new UpstreamError(`The ${provider} account credential is not ${expected}.`, {
    retryable: true,
    code: 'upstream_credential_invalid',
  });
}
