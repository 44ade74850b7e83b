import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNetsim<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Network simulator error';
}

class ErrorNetsimAddressInUse<T> extends ErrorNetsim<T> {
  static description = 'Address is already bound on this simulated host';
}

class ErrorNetsimTopology<T> extends ErrorNetsim<T> {
  static description = 'Invalid simulated topology';
}

class ErrorNetsimTransport<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'Simulated transport cannot dial this address';
}

export { ErrorNetsim, ErrorNetsimAddressInUse, ErrorNetsimTopology, ErrorNetsimTransport };
