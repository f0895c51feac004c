import Foundation

/// Colour-blind-safe qualitative colours for data series.
public enum Palette {
    /// Paul Tol's "bright" scheme (blue, red, green, yellow, cyan, purple, grey), distinguishable under
    /// common colour-vision deficiencies; the default colour cycle of every Axes.
    public static let bright: [Color] = [
        Color(hex: 0x4477AA), Color(hex: 0xEE6677), Color(hex: 0x228833), Color(hex: 0xCCBB44),
        Color(hex: 0x66CCEE), Color(hex: 0xAA3377), Color(hex: 0xBBBBBB),
    ]
    /// Okabe and Ito's eight colours (black, orange, sky blue, bluish green, yellow, blue, vermillion, purple).
    public static let okabeIto: [Color] = [
        Color(hex: 0x000000), Color(hex: 0xE69F00), Color(hex: 0x56B4E9), Color(hex: 0x009E73),
        Color(hex: 0xF0E442), Color(hex: 0x0072B2), Color(hex: 0xD55E00), Color(hex: 0xCC79A7),
    ]
    /// The colour of series number `index` in the default cycle (wraps around).
    public static func cycle(_ index: Int) -> Color { bright[((index % bright.count) + bright.count) % bright.count] }
}

/// A continuous colour map from [0, 1] to colours, piecewise linear between control points in sRGB.
public struct ColorMap: Sendable {
    /// Name, e.g. "viridis".
    public let name: String
    /// Control points: positions ascending from 0 to 1, and their colours.
    public let stops: [(position: Double, color: Color)]

    /// A map through `stops` (positions ascending, the first 0 and the last 1).
    public init(name: String, stops: [(position: Double, color: Color)]) {
        precondition(stops.count >= 2 && stops.first!.position == 0 && stops.last!.position == 1,
                     "ColorMap stops must span 0...1")
        self.name = name
        self.stops = stops
    }

    /// A map through evenly spaced colours.
    public init(name: String, evenlySpaced colors: [Color]) {
        let last = Double(colors.count - 1)
        self.init(name: name, stops: colors.enumerated().map { (Double($0.offset) / last, $0.element) })
    }

    /// The colour at `t` in [0, 1] (clamped); NaN gives nil.
    public func color(at t: Double) -> Color? {
        guard !t.isNaN else { return nil }
        let t = min(max(t, 0), 1)
        var upper = 1
        while upper < stops.count - 1 && stops[upper].position < t { upper += 1 }
        let (p0, c0) = stops[upper - 1], (p1, c1) = stops[upper]
        let f = p1 > p0 ? (t - p0) / (p1 - p0) : 0
        func mix(_ a: Double, _ b: Double) -> Double { a + (b - a) * f }
        return Color(red: mix(c0.red, c1.red), green: mix(c0.green, c1.green), blue: mix(c0.blue, c1.blue),
                     alpha: mix(c0.alpha, c1.alpha))
    }

    /// The same map run backwards.
    public var reversed: ColorMap {
        ColorMap(name: name + "_r", stops: stops.reversed().map { (1 - $0.position, $0.color) })
    }

    /// matplotlib's viridis (perceptually uniform, colour-blind friendly): 33 of its 256 entries (every 8th
    /// and the last), interpolated linearly. Dark purple #440154 at 0, yellow #FDE725 at 1.
    public static let viridis: ColorMap = {
        let table: [(index: Int, red: Double, green: Double, blue: Double)] = [
        (0, 0.267004, 0.004874, 0.329415),
        (8, 0.277018, 0.050344, 0.375715),
        (16, 0.282327, 0.094955, 0.417331),
        (24, 0.282884, 0.135920, 0.453427),
        (32, 0.278826, 0.175490, 0.483397),
        (40, 0.270595, 0.214069, 0.507052),
        (48, 0.258965, 0.251537, 0.524736),
        (56, 0.244972, 0.287675, 0.537260),
        (64, 0.229739, 0.322361, 0.545706),
        (72, 0.214298, 0.355619, 0.551184),
        (80, 0.199430, 0.387607, 0.554642),
        (88, 0.185556, 0.418570, 0.556753),
        (96, 0.172719, 0.448791, 0.557885),
        (104, 0.160665, 0.478540, 0.558115),
        (112, 0.149039, 0.508051, 0.557250),
        (120, 0.137770, 0.537492, 0.554906),
        (128, 0.127568, 0.566949, 0.550556),
        (136, 0.120565, 0.596422, 0.543611),
        (144, 0.120638, 0.625828, 0.533488),
        (152, 0.132268, 0.655014, 0.519661),
        (160, 0.157851, 0.683765, 0.501686),
        (168, 0.196571, 0.711827, 0.479221),
        (176, 0.246070, 0.738910, 0.452024),
        (184, 0.304148, 0.764704, 0.419943),
        (192, 0.369214, 0.788888, 0.382914),
        (200, 0.440137, 0.811138, 0.340967),
        (208, 0.515992, 0.831158, 0.294279),
        (216, 0.595839, 0.848717, 0.243329),
        (224, 0.678489, 0.863742, 0.189503),
        (232, 0.762373, 0.876424, 0.137064),
        (240, 0.845561, 0.887322, 0.099702),
        (248, 0.926106, 0.897330, 0.104071),
        (255, 0.993248, 0.906157, 0.143936),
        ]
        return ColorMap(name: "viridis", stops: table.map {
            (Double($0.index) / 255, Color(red: $0.red, green: $0.green, blue: $0.blue))
        })
    }()

    /// Diverging blue - white - red for signed values (ColorBrewer RdBu, 11 classes, reversed so that
    /// negative is blue and positive red); use with a range symmetric about 0 so that 0 maps to white.
    public static let blueWhiteRed = ColorMap(name: "RdBu_r", evenlySpaced: [
        0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F,
    ].map { Color(hex: $0) })

    /// White to black, for counts where hue carries no meaning.
    public static let grays = ColorMap(name: "Greys", evenlySpaced: [Color(hex: 0xFFFFFF), Color(hex: 0x000000)])
}
