namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>Random x87 states for differential tests: FXSAVE images with random control word (rounding and precision),
/// TOP, tags and stack values at the edges (zeros, denormals, infinities, quiet and signalling NaNs, wide exponents).</summary>
internal static class X87Values
{
    public static byte[] RandomFx(Random rng)
    {
        var img = new byte[512];
        int rc = rng.Next(4), pc = new[] { 0, 2, 3, 3 }[rng.Next(4)];
        ushort fcw = (ushort)(0x037F & ~0xF00 | (pc << 8) | (rc << 10));
        int top = rng.Next(8);
        BitConverter.TryWriteBytes(img, fcw);
        BitConverter.TryWriteBytes(img.AsSpan(2), (ushort)(top << 11));
        byte tags = 0;
        for (int i = 0; i < 8; i++) if (rng.Next(8) != 0) tags |= (byte)(1 << i);
        img[4] = tags;
        BitConverter.TryWriteBytes(img.AsSpan(24), 0x1F80u);
        for (int i = 0; i < 8; i++)
        {
            var (mant, se) = RandomF80(rng);
            BitConverter.TryWriteBytes(img.AsSpan(32 + i * 16), mant);
            BitConverter.TryWriteBytes(img.AsSpan(40 + i * 16), se);
        }
        return img;
    }

    public static (ulong, ushort) RandomF80(Random rng)
    {
        ushort sign = (ushort)(rng.Next(2) << 15);
        ulong frac = (ulong)rng.NextInt64() & 0x7FFFFFFFFFFFFFFF;
        return rng.Next(16) switch
        {
            0 => (0, sign),
            1 => (frac >> rng.Next(64), sign),                                   // denormal
            2 => (0x8000000000000000, (ushort)(sign | 0x7FFF)),                   // infinity
            3 => (0xC000000000000000 | (frac >> 2), (ushort)(sign | 0x7FFF)),     // QNaN
            4 => (0x8000000000000000 | (frac >> 2) | 1, (ushort)(sign | 0x7FFF)), // SNaN
            5 => (0x8000000000000000 | frac, (ushort)(sign | rng.Next(1, 0x7FFF))), // any exponent
            6 => (0x8000000000000000 | (frac & ~0xFFFFFFFFFFUL), (ushort)(sign | (16383 + rng.Next(-3, 64)))), // integers
            _ => (0x8000000000000000 | frac, (ushort)(sign | (16383 + rng.Next(-80, 80)))),
        };
    }
}
