"""Evaluation: metrics (PSNR, SSIM, hole L1, colour and chroma errors, FID/LPIPS with an
injected extractor), classical baselines (OpenCV Telea / Navier–Stokes, mean fill), the
evaluator, comparison sheets and saved outputs.
"""
