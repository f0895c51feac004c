import Foundation
import Plot
import Testing

@Suite("Nice ticks")
struct NiceTickTests {
    @Test func unitRange() {
        let ticks = NiceTicks(lower: 0, upper: 1, maxIntervals: 5)
        #expect(ticks.values == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(ticks.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    @Test func tenthsHaveNoFloatNoise() {
        let ticks = NiceTicks(lower: 0, upper: 1, maxIntervals: 10)
        #expect(ticks.values[3] == 0.3)
        #expect(ticks.labels[3] == "0.3")
        #expect(ticks.labels.allSatisfy { $0.count == 3 })
    }

    @Test func narrowRange() {
        let ticks = NiceTicks(lower: 0.43, upper: 0.86, maxIntervals: 5)
        #expect(ticks.values == [0.5, 0.6, 0.7, 0.8])
        #expect(ticks.labels == ["0.5", "0.6", "0.7", "0.8"])
    }

    @Test func signedRange() {
        let ticks = NiceTicks(lower: -3, upper: 17, maxIntervals: 5)
        #expect(ticks.values == [0, 5, 10, 15])
        #expect(ticks.labels == ["0", "5", "10", "15"])
        let finer = NiceTicks(lower: -3, upper: 17, maxIntervals: 10)
        #expect(finer.step == 2.5)
        #expect(finer.values.first == -2.5 && finer.values.last == 15)
    }

    @Test func twoAndAHalfStepsGetADecimal() {
        let ticks = NiceTicks(lower: 0, upper: 10, maxIntervals: 4)
        #expect(ticks.step == 2.5)
        #expect(ticks.labels == ["0.0", "2.5", "5.0", "7.5", "10.0"])
    }

    @Test func negativeZeroIsNotPrinted() {
        let ticks = NiceTicks(lower: -0.3, upper: 0.3, maxIntervals: 6)
        #expect(ticks.labels.contains("0.0"))
        #expect(!ticks.labels.contains("-0.0"))
    }

    @Test func degenerateAndNonFiniteRangesGiveNoTicks() {
        #expect(NiceTicks(lower: 1, upper: 1).values.isEmpty)
        #expect(NiceTicks(lower: .nan, upper: 1).values.isEmpty)
        #expect(NiceTicks(lower: 0, upper: .infinity).values.isEmpty)
    }

    @Test func hugeAndTinyRangesUseScientificLabels() {
        #expect(NiceTicks(lower: 0, upper: 4e6, maxIntervals: 4).labels == ["0", "1e6", "2e6", "3e6", "4e6"])
        #expect(NiceTicks(lower: 0, upper: 4e-5, maxIntervals: 4).labels.last == "4e-5")
    }

    @Test func compactNumbers() {
        #expect(compactNumber(0.1) == "0.1")
        #expect(compactNumber(0.93456, significant: 2) == "0.93")
        #expect(compactNumber(1234.5) == "1234")
        #expect(compactNumber(-0.0001234) == "-0.000123")
        #expect(compactNumber(.nan) == "nan")
    }
}

@Suite("Colours")
struct ColorTests {
    @Test func viridisEnds() {
        #expect(ColorMap.viridis.color(at: 0)!.hexString == "#440154")
        #expect(ColorMap.viridis.color(at: 1)!.hexString == "#FDE725")
        #expect(ColorMap.viridis.color(at: -3)!.hexString == "#440154")
        #expect(ColorMap.viridis.color(at: .nan) == nil)
    }

    @Test func viridisMiddleMatchesMatplotlib() {
        // matplotlib viridis entry 128 is #21918C.
        let middle = ColorMap.viridis.color(at: 128.0 / 255)!
        #expect(abs(middle.red - 0x21 / 255.0) < 0.01 && abs(middle.green - 0x91 / 255.0) < 0.01
                && abs(middle.blue - 0x8C / 255.0) < 0.01)
    }

    @Test func viridisLightnessIncreases() {
        let luminances = stride(from: 0.0, through: 1.0, by: 0.05).map { ColorMap.viridis.color(at: $0)!.luminance }
        #expect(zip(luminances, luminances.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func divergingMapIsWhiteInTheMiddle() {
        let map = ColorMap.blueWhiteRed
        #expect(map.color(at: 0.5)!.hexString == "#F7F7F7")
        let low = map.color(at: 0)!, high = map.color(at: 1)!
        #expect(low.blue > low.red)
        #expect(high.red > high.blue)
        #expect(map.reversed.color(at: 0) == high)
    }

    @Test func paletteCyclesThroughDistinctColors() {
        #expect(Set(Palette.bright).count == Palette.bright.count)
        #expect(Palette.cycle(0) == Palette.cycle(Palette.bright.count))
        #expect(Palette.cycle(0).hexString == "#4477AA")
    }
}

@Suite("CSV")
struct CSVTests {
    @Test func quotingFollowsRFC4180() {
        let table = CSVTable(header: ["name", "note"], rows: [["airplane", "plain"], ["a,b", "say \"hi\"\nbye"]])
        #expect(table.text == "name,note\nairplane,plain\n\"a,b\",\"say \"\"hi\"\"\nbye\"\n")
    }

    @Test func numbersHaveNoFloatNoise() {
        #expect(CSVTable.number(0.1) == "0.1")
        #expect(CSVTable.number(3) == "3")
        #expect(CSVTable.number(-2.5) == "-2.5")
        #expect(CSVTable.number(.nan) == "nan")
        #expect(CSVTable.number(-.infinity) == "-inf")
    }
}
