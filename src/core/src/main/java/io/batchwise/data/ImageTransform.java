package io.batchwise.data;

import io.batchwise.Shape;
import java.util.Arrays;

/**
 * How an image becomes a sample of shape {@code (C, H, W)}: converted to grey ({@code C = 1}, luma
 * {@code 0.299 R + 0.587 G + 0.114 B}, ITU-R BT.601 as PIL's {@code "L"}) or RGB ({@code C = 3}; a grey image's value
 * repeated), alpha dropped; resized to {@code H x W} by bilinear interpolation at pixel centres (OpenCV's
 * {@code INTER_LINEAR}, PyTorch's {@code align_corners=False}; no anti-aliasing, so shrink large images beforehand);
 * scaled to {@code [0, 1]} (8-bit: {@code / 255}; 16-bit: {@code / 65535}); then {@code (x - mean[c]) / std[c]} per
 * channel. Immutable.
 */
public final class ImageTransform {
    private final int height;
    private final int width;
    private final int channels;
    private final float[] mean;
    private final float[] std;

    private ImageTransform(int height, int width, int channels, float[] mean, float[] std) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image size " + height + "x" + width);
        }
        if (mean.length != channels || std.length != channels) {
            throw new IllegalArgumentException(channels + " channels need as many means and standard deviations, not "
                    + mean.length + " and " + std.length);
        }
        for (int c = 0; c < channels; c++) {
            if (!(std[c] > 0) || !Float.isFinite(std[c]) || !Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("channel " + c + ": mean " + mean[c] + ", std " + std[c]);
            }
        }
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /** Grey {@code (1, height, width)}, values in {@code [0, 1]}. */
    public static ImageTransform grey(int height, int width) {
        return new ImageTransform(height, width, 1, new float[] {0}, new float[] {1});
    }

    /** RGB {@code (3, height, width)}, values in {@code [0, 1]}. */
    public static ImageTransform rgb(int height, int width) {
        return new ImageTransform(height, width, 3, new float[3], new float[] {1, 1, 1});
    }

    /** Then {@code (x - mean[c]) / std[c]}, one of each per channel. */
    public ImageTransform normalized(float[] mean, float[] std) {
        return new ImageTransform(height, width, channels, mean, std);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** 1 (grey) or 3 (RGB). */
    public int channels() {
        return channels;
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    /** {@code (C, H, W)}. */
    public Shape sampleShape() {
        return Shape.of(channels, height, width);
    }

    /**
     * {@code src}: {@code (C, h, w)} values in {@code [0, 1]} with this transform's channels; writes {@code (C, H, W)}
     * into {@code dst} at {@code at}.
     */
    void resizeAndNormalize(float[] src, int h, int w, float[] dst, int at) {
        float sy = (float) h / height;
        float sx = (float) w / width;
        for (int c = 0; c < channels; c++) {
            int plane = c * h * w;
            for (int y = 0; y < height; y++) {
                // Source coordinate of this pixel's centre, clamped at the edges.
                float fy = Math.max(0, Math.min(h - 1, (y + 0.5f) * sy - 0.5f));
                int y0 = (int) fy;
                int y1 = Math.min(h - 1, y0 + 1);
                float wy = fy - y0;
                for (int x = 0; x < width; x++) {
                    float fx = Math.max(0, Math.min(w - 1, (x + 0.5f) * sx - 0.5f));
                    int x0 = (int) fx;
                    int x1 = Math.min(w - 1, x0 + 1);
                    float wx = fx - x0;
                    float top = src[plane + y0 * w + x0] * (1 - wx) + src[plane + y0 * w + x1] * wx;
                    float bottom = src[plane + y1 * w + x0] * (1 - wx) + src[plane + y1 * w + x1] * wx;
                    float v = top * (1 - wy) + bottom * wy;
                    dst[at + (c * height + y) * width + x] = (v - mean[c]) / std[c];
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ImageTransform[" + (channels == 1 ? "grey" : "rgb") + " " + height + "x" + width + ", mean "
                + Arrays.toString(mean) + ", std " + Arrays.toString(std) + "]";
    }
}
