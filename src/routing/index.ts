export { AllowedIPs } from './allowed-ips.js';
export {
  checkPrefix,
  familyBytes,
  formatPrefix,
  maskAddress,
  parsePrefix,
  type IPFamily,
  type Prefix,
} from './prefix.js';
