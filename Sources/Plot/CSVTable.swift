import Foundation

/// A table written as CSV (RFC 4180): a header row and data rows of strings, fields quoted when needed.
public struct CSVTable: Sendable, Equatable {
    /// Column names.
    public var header: [String]
    /// Data rows; each has `header.count` fields.
    public var rows: [[String]]

    /// A table; every row must have as many fields as the header.
    public init(header: [String], rows: [[String]] = []) {
        precondition(rows.allSatisfy { $0.count == header.count }, "CSVTable: every row needs \(header.count) fields")
        self.header = header
        self.rows = rows
    }

    /// Appends a row of `header.count` fields.
    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "CSVTable: row has \(row.count) fields, header \(header.count)")
        rows.append(row)
    }

    /// The CSV text: lines end with "\n"; a field with a comma, quote or line break is quoted, quotes doubled.
    public var text: String {
        ([header] + rows).map { $0.map(Self.quoted).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A number as CSV text: the shortest form that reads back exactly ("0.1", "3", "nan", "inf", "-inf").
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `field`, quoted if it holds a comma, double quote, CR or LF.
    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension Figure {
    /// The numbers behind every panel, in long form: columns panel, kind, series, x, y.
    /// panel = the panel's title (or "panel N", 1-based); kind = line, scatter, bar, histogram, heatmap, hline, vline.
    /// Lines and scatters: one row per point. Bars: x = category (or position), y = height. Histograms:
    /// x = the bin as "[lo, hi)", y = count. Heatmaps: series = row label, x = column label, y = value.
    /// Reference lines: y (or x) = their value. Non-finite values are written as nan/inf.
    public func dataTable() -> CSVTable {
        var table = CSVTable(header: ["panel", "kind", "series", "x", "y"])
        let number = CSVTable.number
        for (index, panel) in axes.enumerated() {
            let name = panel.title ?? "panel \(index + 1)"
            for artist in panel.artists {
                switch artist {
                case .line(let line):
                    for i in line.x.indices { table.append([name, "line", line.label ?? "", number(line.x[i]), number(line.y[i])]) }
                case .scatter(let scatter):
                    for i in scatter.x.indices {
                        table.append([name, "scatter", scatter.label ?? "", number(scatter.x[i]), number(scatter.y[i])])
                    }
                case .bars(let bars):
                    for i in bars.positions.indices {
                        table.append([name, bars.kind, bars.label ?? "", bars.names?[i] ?? number(bars.positions[i]),
                                      number(bars.heights[i])])
                    }
                case .heatmap(let heatmap):
                    for row in 0..<heatmap.rows {
                        for column in 0..<heatmap.columns {
                            table.append([name, "heatmap", heatmap.rowLabels[row], heatmap.columnLabels[column],
                                          number(heatmap.values[row * heatmap.columns + column])])
                        }
                    }
                case .reference(let line):
                    let value = number(line.value)
                    table.append(line.orientation == .horizontal
                        ? [name, "hline", line.label ?? "", "", value] : [name, "vline", line.label ?? "", value, ""])
                case .text:
                    break
                }
            }
        }
        return table
    }
}
