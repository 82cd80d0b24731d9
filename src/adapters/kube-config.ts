// The one part of client-node the adapter uses. `npm run build` bundles this module into a
// single file (scripts/bundle-kube-config.mjs): client-node's index loads ~970 modules, which
// cost 0.45 s at every command start; the bundle of KubeConfig loads in about 70 ms.
export { KubeConfig } from '@kubernetes/client-node'
