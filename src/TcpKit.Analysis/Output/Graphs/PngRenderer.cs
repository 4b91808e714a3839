using System.Text;
using SkiaSharp;
using Svg.Skia;
using Svg.Skia.TypefaceProviders;

namespace TcpKit.Analysis.Output.Graphs;

/// <summary>
/// Rasterises one of our SVG graphs to PNG with Svg.Skia (SkiaSharp). The native Skia build has no
/// fontconfig, so text is drawn with a font file the caller names, or else the first common sans-serif
/// TrueType font found on the machine; without one the lines and dots are still drawn, only the labels are
/// missing (<see cref="HasFont"/> tells the caller, so it can say so).
/// </summary>
public static class PngRenderer
{
    /// <summary>Where Linux distributions and macOS keep a plain sans-serif font.</summary>
    private static readonly string[] FontCandidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/usr/share/fonts/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "C:\\Windows\\Fonts\\arial.ttf",
    ];

    private static readonly Lazy<SKTypeface?> Font = new(LoadFont);

    /// <summary>Whether labels can be drawn without naming a font (one of the usual fonts was found).</summary>
    public static bool HasFont => Font.Value is not null;

    /// <summary>The font files looked for, in order, when none is named.</summary>
    public static IReadOnlyList<string> FontsLookedFor => FontCandidates;

    /// <summary>
    /// Draws <paramref name="svg"/> scaled to <paramref name="width"/> x <paramref name="height"/> pixels on white
    /// and returns the PNG file's bytes. Labels use the TrueType/OpenType font in <paramref name="fontPath"/>
    /// when given (an unreadable one is an <see cref="InvalidDataException"/>), else the first usual font found.
    /// </summary>
    public static byte[] Render(string svg, int width, int height, string? fontPath = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);

        // 16k x 16k is 1 GiB of pixels: refuse rather than exhaust memory.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 16384);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 16384);

        using var named = fontPath is null ? null : LoadNamedFont(fontPath);
        using var document = new SKSvg();
        if ((named ?? Font.Value) is { } font)
        {
            document.Settings.TypefaceProviders = [new FixedTypefaceProvider(font)];
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(svg));
        var picture = document.Load(stream) ?? throw new InvalidOperationException("the SVG could not be read");
        var bounds = picture.CullRect;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            if (bounds.Width > 0 && bounds.Height > 0)
            {
                canvas.Scale(width / bounds.Width, height / bounds.Height);
            }

            canvas.DrawPicture(picture);
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static SKTypeface LoadNamedFont(string path) =>
        File.Exists(path) && SKTypeface.FromFile(path) is { } face
            ? face
            : throw new InvalidDataException($"\"{path}\" is not a TrueType or OpenType font file");

    private static SKTypeface? LoadFont()
    {
        foreach (var path in FontCandidates)
        {
            if (File.Exists(path) && SKTypeface.FromFile(path) is { } face)
            {
                return face;
            }
        }

        return null;
    }

    /// <summary>Answers every font-family request with the one font we have.</summary>
    private sealed class FixedTypefaceProvider(SKTypeface font) : ITypefaceProvider
    {
        public SKTypeface FromFamilyName(string fontFamily, SKFontStyleWeight fontWeight, SKFontStyleWidth fontWidth, SKFontStyleSlant fontStyle) => font;
    }
}
