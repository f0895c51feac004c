import ArgumentParser
import RunStore

/// The `filterlens` command: trains a CNN, dissects it filter by filter, and reports.
@main
struct FilterLens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filterlens",
        abstract: "Train a CNN on CIFAR-10 or CIFAR-100, probe every layer, and measure how single filters select output labels.",
        discussion: """
        Implements Tzach et al., "The mechanism underlying successful deep learning" (arXiv 2305.18078):
          phase 1  train     train the whole network
          phase 2  probe     a new FC head on each frozen convolutional layer: SR per layer
          phase 3  analyze   filter-label matrices, clusters, SNR per layer
        then `report` draws the figures and writes outputs/RUN/report.html. `run` does all of it.
        `prune` then prunes by the clusters (AFCC, arXiv 2501.12880) against random clusters of the same sizes.

        Quick start:  filterlens data prepare && filterlens run --preset small
        """,
        version: RunLayout.toolVersion,
        subcommands: [RunCommand.self, DataCommand.self, TrainCommand.self, ProbeCommand.self, AnalyzeCommand.self,
                      ReportCommand.self, CompareCommand.self, SweepLabelsCommand.self, BenchCommand.self, BenchLabelsCommand.self,
                      PruneCommand.self, StatusCommand.self]
    )
}
