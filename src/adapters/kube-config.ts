// The one part of client-node the adapter uses, imported from the file that defines it:
// client-node's index loads ~970 modules (0.45 s at every command start). `npm run build`
// bundles the commands (scripts/bundle.mjs), which keeps only KubeConfig and what it uses.
export { KubeConfig } from '@kubernetes/client-node/dist/config.js'
