import { Flags } from '@oclif/core'
import { connectCluster } from '../adapters/kube-cluster.js'
import { BaseCommand, clusterFlags } from '../base-command.js'
import { buildCommit } from '../build-info.js'
import { shortCommit, type VersionReport, versionLines } from '../core/version-report.js'

export default class Version extends BaseCommand {
  static override description =
    "Show edgecanary's version, commit and Node.js version, and the cluster's Kubernetes version when one answers (as kubectl version)"
  static override examples = [
    '<%= config.bin %> version',
    '<%= config.bin %> version --json',
    '<%= config.bin %> version --client   # no cluster contacted',
    '<%= config.bin %> --version          # the client version alone',
  ]
  static override flags = {
    kubeconfig: clusterFlags.kubeconfig,
    context: clusterFlags.context,
    client: Flags.boolean({ description: 'show the client version only; do not contact a cluster' }),
  }

  async run(): Promise<VersionReport> {
    const { flags } = await this.parse(Version)
    const report: VersionReport = {
      client: {
        version: this.config.version,
        commit: shortCommit(buildCommit(this.config.root)),
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      },
    }
    if (!flags.client) {
      try {
        const cluster = connectCluster({ kubeconfig: flags.kubeconfig, context: flags.context })
        const v = await cluster.serverVersion()
        report.server = { gitVersion: v.gitVersion, platform: v.platform, where: cluster.where }
      } catch (err) {
        // no cluster is an answer here, not a failure: kubectl version prints the client either way
        report.serverError = (err as Error).message.split('\n')[0]
      }
    }
    if (!this.jsonEnabled()) process.stdout.write(`${versionLines(report).join('\n')}\n`)
    return report
  }
}
